"""Unpack a zip or tar archive atomically, refusing entries that are not plain files or folders.

The archive is unpacked into a temporary folder beside `dest_dir`, which is
renamed onto `dest_dir` only once every entry is written: a killed or failed
extraction leaves no `dest_dir` behind. Entries with an absolute path, a `..`
that leaves the folder, links (tar symlinks and hardlinks, zip entries whose
Unix mode marks a symlink) and device files are refused with an error naming
the archive and the entry, before they are written.
"""
import posixpath
import stat
import tarfile
import zipfile
from pathlib import Path


from tasks.common.atomic import atomic_dir
from tasks.common.diskspace import naming_path, require_free
from tasks.common.logs import progress_bar


class UnsafeArchiveError(ValueError):
    """An archive entry would write outside the target folder or is not a plain file/folder."""


def extract(archive, dest_dir, *, progress=True) -> Path:
    """Unpack `archive` (zip, tar, tar.gz/tgz, tar.bz2, tar.xz) into `dest_dir`.

    An existing `dest_dir` is replaced only after the new content is complete.
    Raises UnsafeArchiveError for a refused entry, ValueError when `archive`
    is neither zip nor tar. Returns `dest_dir`.
    """
    archive, dest_dir = Path(archive), Path(dest_dir)
    if not archive.is_file():
        raise FileNotFoundError(f"archive {archive} does not exist (extracting to {dest_dir})")
    if zipfile.is_zipfile(archive):
        unpack = _unpack_zip
    elif tarfile.is_tarfile(archive):
        unpack = _unpack_tar
    else:
        raise ValueError(f"{archive} is neither a zip nor a tar archive (extracting to {dest_dir})")
    with atomic_dir(dest_dir) as tmp:
        unpack(archive, tmp, progress)
    return dest_dir


def _check_name(archive: Path, name: str) -> None:
    """Refuse an entry name that is absolute or climbs out of the folder."""
    unified = name.replace("\\", "/")
    if unified.startswith("/") or (len(unified) > 1 and unified[1] == ":"):
        raise UnsafeArchiveError(f"{archive}: entry {name!r} has an absolute path; refused")
    normal = posixpath.normpath(unified)
    if normal == ".." or normal.startswith("../"):
        raise UnsafeArchiveError(f"{archive}: entry {name!r} escapes the target folder "
                                 f"with '..'; refused")


def _check_zip_member(archive: Path, info: zipfile.ZipInfo) -> None:
    _check_name(archive, info.filename)
    mode = info.external_attr >> 16  # Unix st_mode, when the archiver stored one
    if stat.S_ISLNK(mode):
        raise UnsafeArchiveError(f"{archive}: entry {info.filename!r} is a symlink; refused")
    if mode and stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise UnsafeArchiveError(f"{archive}: entry {info.filename!r} is a special file "
                                 f"(mode {mode:o}); refused")


def _unpack_zip(archive: Path, tmp: Path, progress: bool) -> None:
    with zipfile.ZipFile(archive) as zf:
        members = zf.infolist()
        for info in members:  # all checked before anything is written
            _check_zip_member(archive, info)
        require_free(tmp.parent, sum(info.file_size for info in members),
                     f"extracting {archive.name} ({len(members)} entries)")
        for info in progress_bar(members, desc=f"extract {archive.name}", unit="entry", enabled=progress):
            with naming_path(tmp / info.filename):
                zf.extract(info, tmp)


def _check_tar_member(archive: Path, member: tarfile.TarInfo) -> None:
    _check_name(archive, member.name)
    if member.issym() or member.islnk():
        kind = "symlink" if member.issym() else "hardlink"
        raise UnsafeArchiveError(f"{archive}: entry {member.name!r} is a {kind} "
                                 f"to {member.linkname!r}; refused")
    if not (member.isfile() or member.isdir()):
        raise UnsafeArchiveError(f"{archive}: entry {member.name!r} is a device, fifo or "
                                 f"other special file; refused")


def _unpack_tar(archive: Path, tmp: Path, progress: bool) -> None:
    # One pass: a compressed tar is only read once; each entry is checked
    # before it is written, and a refusal discards the whole temporary folder.
    with tarfile.open(archive, "r:*") as tf, progress_bar(desc=f"extract {archive.name}", unit="entry",
                                                          enabled=progress) as bar:
        for member in tf:
            _check_tar_member(archive, member)
            # The total would need a second read of a compressed tar: each entry is checked.
            require_free(tmp.parent, member.size, f"extracting {member.name} from {archive.name}")
            with naming_path(tmp / member.name):
                tf.extract(member, tmp, filter="data")
            bar.update()


__all__ = ["extract", "UnsafeArchiveError"]
