# DA-Faster + ICR + CCR with an HCE RoI head (built as the generated DAHCERoIHead). ICR shares
# HCE's image-level categorical embedding (icr.share_hce_embedding, the default with an HCE head):
# loss_icr is CR-DA's source-image BCE on HCE's image logits (GAP + GMP of the class maps of P3)
# and CCR reads the target images' ones; no separate ICR classifier. HCE settings: the synth
# late-conv ones (num_convs=1, GridRoIAlign x_instance, no early fusion, trained logit-sum late
# fusion), end to end (no input_grad_scale / detach_input), so that ICR's BCE reaches the backbone
# and neck with its full weight as in CR-DA (the shared ICR is there to regularise the features).
_base_ = './da-faster-icr-ccr_faster-rcnn_r18-thin_fpn_0.5k_synth-fog.py'
model = dict(
    icr=dict(_delete_=True, loss_weight=1.0),
    roi_head=dict(
        type='HCERoIHead',
        context_embedding=dict(in_levels=[1], num_convs=1),
        context_roi=dict(early_fusion=None, gate=None, use_global=True,
                         roi_layer=dict(type='GridRoIAlign', output_size=7, sampling_ratio=1)),
        late_fusion=dict(fusion='logit_sum', test_branch='both')))
