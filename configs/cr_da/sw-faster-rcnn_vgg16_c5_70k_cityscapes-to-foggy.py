# SW-Faster (local LS on conv3_3, global focal gamma 5 on conv5_3, GRL 1) + instance DA, VGG16.
_base_ = [
    './_base_/faster-rcnn_vgg16_c5.py',
    '../_base_/datasets/cityscapes_to_foggy_da.py',
    './_base_/schedule_da_70k.py',
    './_base_/da_modules_vgg16.py',
]
custom_imports = dict(imports=['hce_det'], allow_failed_imports=False)
model = dict(type='DAFasterRCNN', local_da={{_base_.local_da}}, global_da={{_base_.global_da}},
             ins_da={{_base_.ins_da}})
