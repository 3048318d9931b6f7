# HCE that starts exactly as vanilla (zero-initialised gate on x_context, trained logit-sum late
# fusion) with one 3x3 conv layer before the class maps (context_embedding.num_convs=1) and the
# GridRoIAlign x_instance layer; see hce-both-conv_*.
_base_ = './hce-gated_faster-rcnn_r18-thin_fpn_1k_synth-context.py'
model = dict(roi_head=dict(
    context_embedding=dict(num_convs=1),
    context_roi=dict(roi_layer=dict(_delete_=True, type='GridRoIAlign', output_size=7,
                                    sampling_ratio=1))))
