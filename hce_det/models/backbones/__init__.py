from .vgg import DetVGG  # noqa: F401
from .se_resnet_aglu import SEResNetAGLU  # noqa: F401
