import torch

from vggbook import anatomy
from vggbook.models import VGG11_ARCH, alexnet, narrow, vgg


def test_flops_narrow_vgg11_224():
    flops = anatomy.forward_flops(vgg(narrow(VGG11_ARCH, 4)))
    assert abs(flops / 1.024e9 - 1) < 0.01


def test_trace_prints_chapter_lines(capsys):
    rows = anatomy.trace(vgg(VGG11_ARCH), torch.randn(1, 1, 224, 224))
    out = capsys.readouterr().out.splitlines()
    assert len(rows) == len(out) == 13
    assert out[0] == "Sequential output shape:\t(1, 64, 112, 112)"
    assert rows[4][1] == (1, 512, 7, 7)


def test_deep_trace_lists_all_weight_layers(capsys):
    rows = anatomy.trace(vgg(narrow(VGG11_ARCH, 4)), torch.randn(1, 1, 224, 224), deep=True)
    assert sum("Conv2d" in r[0] for r in rows) == 8
    assert sum("Linear" in r[0] for r in rows) == 3


def test_layer_table_totals_match_model():
    net = vgg(narrow(VGG11_ARCH, 4))
    table = anatomy.layer_table(net, batch_size=128)
    tot = anatomy.totals(table)
    assert tot["params"] == 43_093_322
    assert abs(tot["GFLOPs"] - 1.024) < 0.01
    conv1 = table.iloc[0]
    assert conv1["output shape"] == "16×224×224"
    # 16 x 224 x 224 floats x 4 bytes x 128 images
    assert abs(conv1["activation MB"] - 16 * 224 * 224 * 4 * 128 / 1e6) < 1e-6


def test_vgg_vs_alexnet_flops_and_activations():
    # d2l's AlexNet (full widths) computes more than the narrow VGG-11, but VGG's 224 px and 112 px
    # feature maps hold far more activations: the memory traffic is what makes it slower.
    a = anatomy.totals(anatomy.layer_table(alexnet()))
    v = anatomy.totals(anatomy.layer_table(vgg(narrow(VGG11_ARCH, 4))))
    assert abs(a["GFLOPs"] - 1.876) < 0.01 and abs(v["GFLOPs"] - 1.024) < 0.01
    assert v["activation MB"] > 3 * a["activation MB"]
