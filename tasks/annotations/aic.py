"""The AI Challenger keypoint format: joint order and visibility codes, and how they map
to COCO's. The converter and the sample generator both read these tables.

AIC joints: 0 r-shoulder, 1 r-elbow, 2 r-wrist, 3 l-shoulder, 4 l-elbow, 5 l-wrist,
6 r-hip, 7 r-knee, 8 r-ankle, 9 l-hip, 10 l-knee, 11 l-ankle, 12 head top, 13 neck.
"""
NUM_AIC_JOINTS = 14
AIC_HEAD_TOP, AIC_NECK = 12, 13

# COCO index of AIC joints 0..11; head top and neck have no COCO joint and are dropped.
AIC_TO_COCO = (6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15)

AIC_VISIBLE, AIC_HIDDEN, AIC_UNLABELED = 1, 2, 3
# COCO: 2 visible, 1 labeled but hidden, 0 not labeled (and x = y = 0).
AIC_TO_COCO_VISIBILITY = {AIC_VISIBLE: 2, AIC_HIDDEN: 1, AIC_UNLABELED: 0}
