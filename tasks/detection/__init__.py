"""PicoDet-S pedestrian detector (PaddleDetection's picodet_s_{192,320}_lcnet_pedestrian)."""
