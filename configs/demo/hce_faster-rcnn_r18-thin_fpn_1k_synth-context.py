# HCE twin of faster-rcnn_r18-thin_fpn_1k_synth-context.py (identical data, schedule, seed and
# detector); only the RoI head becomes HCERoIHead with the default HCE settings.
_base_ = './faster-rcnn_r18-thin_fpn_1k_synth-context.py'
model = dict(
    roi_head=dict(
        type='HCERoIHead',
        context_embedding=dict(in_levels=[1]),
        # x_instance with mmcv RoIAlign (adaptive sampling), as in the reported proxy runs; on
        # 128 px images its cost is negligible (COCO configs use the faster GridRoIAlign default)
        context_roi=dict(early_fusion='sum', use_global=True,
                         roi_layer=dict(type='RoIAlign', output_size=7, sampling_ratio=0)),
        late_fusion=dict(fusion='mean', test_branch='both')))
