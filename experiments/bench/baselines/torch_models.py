"""syncbed's two models in PyTorch, layer for layer (models/inception_v1.cc, models/ncf.h):
the same layers, shapes and parameter counts, so their training speed can be compared."""
import torch
from torch import nn

# GoogLeNet's widths: 1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool projection.
STAGE3 = [(64, 96, 128, 16, 32, 32), (128, 128, 192, 32, 96, 64)]
STAGE4 = [(192, 96, 208, 16, 48, 64), (160, 112, 224, 24, 64, 64), (128, 128, 256, 24, 64, 64),
          (112, 144, 288, 32, 64, 64), (256, 160, 320, 32, 128, 128)]
STAGE5 = [(256, 160, 320, 32, 128, 128), (384, 192, 384, 48, 128, 128)]


def conv_relu(inputs, outputs, kernel, stride=1):
    return nn.Sequential(nn.Conv2d(inputs, outputs, kernel, stride, kernel // 2), nn.ReLU(inplace=True))


class InceptionModule(nn.Module):
    def __init__(self, inputs, widths):
        super().__init__()
        one, reduce3, three, reduce5, five, projection = widths
        self.branch1 = conv_relu(inputs, one, 1)
        self.branch3 = nn.Sequential(conv_relu(inputs, reduce3, 1), conv_relu(reduce3, three, 3))
        self.branch5 = nn.Sequential(conv_relu(inputs, reduce5, 1), conv_relu(reduce5, five, 5))
        self.branch_pool = nn.Sequential(nn.MaxPool2d(3, 1, 1, ceil_mode=True), conv_relu(inputs, projection, 1))
        self.outputs = one + three + five + projection

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch3(x), self.branch5(x), self.branch_pool(x)], 1)


def max_pool():
    return nn.MaxPool2d(3, 2, ceil_mode=True)


def lrn():
    # BigDL's SpatialCrossMapLRN(5, 1e-4, 0.75, 1), as syncbed's Lrn.
    return nn.LocalResponseNorm(5, alpha=1e-4, beta=0.75, k=1.0)


def inception_v1(classes=1000, channels=3):
    """BigDL's Inception-v1 without auxiliary classifiers: LRN after the first two stages,
    ceil-mode pooling, global average pooling, dropout 0.4 before the classifier."""
    layers = [conv_relu(channels, 64, 7, 2), max_pool(), lrn(), conv_relu(64, 64, 1), conv_relu(64, 192, 3), lrn(),
              max_pool()]
    width = 192
    for stage, pool in ((STAGE3, max_pool()), (STAGE4, max_pool()), (STAGE5, nn.AdaptiveAvgPool2d(1))):
        for widths in stage:
            module = InceptionModule(width, widths)
            layers.append(module)
            width = module.outputs
        layers.append(pool)
    layers += [nn.Flatten(), nn.Dropout(0.4), nn.Linear(width, classes)]
    return nn.Sequential(*layers)


class Ncf(nn.Module):
    """NeuMF as in MLPerf v0.5: GMF (64) and MLP (128 + 128 -> 256-256-128-64, ReLU)
    branches concatenated into one logit."""

    def __init__(self, users, items, mf_dim=64, mlp_embedding=128, mlp=(256, 128, 64)):
        super().__init__()
        self.mf_user, self.mf_item = nn.Embedding(users, mf_dim), nn.Embedding(items, mf_dim)
        self.mlp_user, self.mlp_item = nn.Embedding(users, mlp_embedding), nn.Embedding(items, mlp_embedding)
        widths = [2 * mlp_embedding, *mlp]
        self.mlp = nn.Sequential(*[layer for inputs, outputs in zip(widths, widths[1:])
                                   for layer in (nn.Linear(inputs, outputs), nn.ReLU(inplace=True))])
        self.head = nn.Linear(mf_dim + mlp[-1], 1)

    def forward(self, users, items):
        gmf = self.mf_user(users) * self.mf_item(items)
        mlp = self.mlp(torch.cat([self.mlp_user(users), self.mlp_item(items)], 1))
        return self.head(torch.cat([gmf, mlp], 1)).squeeze(1)
