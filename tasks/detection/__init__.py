"""PicoDet-S pedestrian detector: network (lcnet, lc_pan, pico_head, anchors, model)."""
