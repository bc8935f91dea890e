"""COCO person-keypoint constants shared by the conversion, the merge, the models, deploy and the report."""

PERSON_ID = 1

COCO_KEYPOINTS = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)
NUM_JOINTS = len(COCO_KEYPOINTS)

# 1-based joint pairs, exactly as in person_keypoints_*2017.json.
COCO_SKELETON = (
    (16, 14), (14, 12), (17, 15), (15, 13), (12, 13), (6, 12), (7, 13), (6, 7),
    (6, 8), (7, 9), (8, 10), (9, 11), (2, 3), (1, 2), (1, 3), (2, 4), (3, 5),
    (4, 6), (5, 7),
)

# COCO object-size buckets used by COCOeval (on the annotation "area").
SMALL_AREA = 32 ** 2
LARGE_AREA = 96 ** 2


def person_category():
    """The single category of every file this package writes."""
    return {
        "supercategory": "person",
        "id": PERSON_ID,
        "name": "person",
        "keypoints": list(COCO_KEYPOINTS),
        "skeleton": [list(pair) for pair in COCO_SKELETON],
    }
