# late-conv-gs0.3 whose categorical embedding reads P5 (stride 32: a 4 x 4 map of a 128 px image,
# each cell seeing most of the image) instead of P3.
# Why: over 3 seeds gs0.3 gains +11.6 / -0.5 / +10.9 context AP; the seed without a gain is the
# one whose image-level branch did not learn which companions an image holds (at P3 a class-map
# cell sees its neighbourhood; the companions must reach it through the FPN, which a scaled
# gradient trains slowly). P5 puts them in one cell's view (docs/results/hce_1200_gs.notes.md).
_base_ = './hce-late-conv-gs0p3_faster-rcnn_r18-thin_fpn_1k_synth-context.py'
model = dict(roi_head=dict(context_embedding=dict(in_levels=(3, ))))
