# HCE ablation on the built-in data: the full method ('both': embedding loss, early 'sum' and late
# 'mean' fusion) with one 3x3 conv layer before the class maps (context_embedding.num_convs=1,
# chosen by a frozen-feature probe: see CategoricalEmbedding) and the GridRoIAlign x_instance
# layer (the package default; mmcv's CPU RoIAlign backward is the largest cost of a training step).
_base_ = './hce-both_faster-rcnn_r18-thin_fpn_1k_synth-context.py'
model = dict(roi_head=dict(
    context_embedding=dict(num_convs=1),
    context_roi=dict(roi_layer=dict(_delete_=True, type='GridRoIAlign', output_size=7,
                                    sampling_ratio=1))))
