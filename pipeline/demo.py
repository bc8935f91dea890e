"""`make demo`: the whole DAG on the embedded sample dataset.

    LUIGI_CONFIG_PATH=configs/demo.cfg python -m pipeline.demo

Generates the sample archives (data/sample, deterministic, a few seconds), runs the
real nodes on them through Luigi, then prints where the results are.
"""
import sys

import luigi

from pipeline.config import data_root, datasets_file
from pipeline.tasks import BuildMergedAnnotations


def main():
    from tasks.sample.generate import generate_sample
    generate_sample(datasets_file().parent)
    targets = [BuildMergedAnnotations()]
    result = luigi.build(targets, detailed_summary=True)
    print(result.summary_text)
    if not result.scheduling_succeeded:
        sys.exit(1)
    merged = BuildMergedAnnotations().outputs()
    print("\nDemo results")
    print(f"  data root:      {data_root()}")
    print(f"  merged file:    {merged['merged']}")
    print(f"  merge report:   {merged['report']}")
    print(f"  statistics PNG: {merged['plot']}")


if __name__ == "__main__":
    main()
