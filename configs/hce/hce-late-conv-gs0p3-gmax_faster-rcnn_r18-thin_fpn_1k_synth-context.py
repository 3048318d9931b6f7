# late-conv-gs0.3 whose x_global is the image's global max of the embedded map
# (context_roi.global_pool='max'), broadcast to every RoI position, instead of its 7 x 7 grid.
# Why: over 3 seeds gs0.3 gains +11.6 / -0.5 / +10.9 context AP; on the seed without a gain the
# context classifier alone does not tell the twins apart (twin confusion 45.6 % vs ~39 %) while
# its image-level branch finds the companions as well as on the other seeds (image AP 0.74 vs
# 0.78 / 0.70). A companion covers ~1-4 % of the image: the grid's bin averages dilute it, the
# image logits' GMP does not (docs/results/hce_1200_gs.notes.md).
# Measured (3 paired seeds, 1200 iterations): +23.1 +- 10.2 context AP over vanilla (+21.7 /
# +13.7 / +34.0), twin confusion 26.1 vs 47.8 % (docs/RESULTS.md, hce_1200_gs): the candidate.
_base_ = './hce-late-conv-gs0p3_faster-rcnn_r18-thin_fpn_1k_synth-context.py'
model = dict(roi_head=dict(context_roi=dict(global_pool='max')))
