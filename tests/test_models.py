import pytest
import torch
import torchvision

from vggbook import models
from vggbook.models import VGG11_ARCH, count_parameters, narrow, vgg, vgg_block


def table1(name):
    """A Table 1 configuration with the paper's ImageNet input and classes."""
    return models.build(name, in_channels=3, num_classes=1000)

TORCHVISION = {"A": 132_863_336, "B": 133_047_848, "D": 138_357_544, "E": 143_667_240}


@pytest.mark.parametrize("name,expected", TORCHVISION.items())
def test_table1_parameter_counts_equal_torchvision(name, expected):
    assert count_parameters(table1(name)) == expected


@pytest.mark.slow
def test_torchvision_counts_are_what_we_quote():
    tv = {"A": torchvision.models.vgg11, "B": torchvision.models.vgg13,
          "D": torchvision.models.vgg16, "E": torchvision.models.vgg19}
    for name, build in tv.items():
        assert count_parameters(build()) == TORCHVISION[name]


@pytest.mark.parametrize("name", ["A-LRN", "C"])
def test_table2_millions(name):
    assert round(count_parameters(table1(name)) / 1e6) == models.TABLE2_MILLIONS[name]


@pytest.mark.slow
def test_weight_layers_per_configuration():
    depth = {"A": 11, "A-LRN": 11, "B": 13, "C": 16, "D": 16, "E": 19}
    for name, layers in depth.items():
        net = table1(name)
        weights = [m for m in net.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
        assert len(weights) == layers
    c_kernels = [m.kernel_size for m in table1("C").modules() if isinstance(m, torch.nn.Conv2d)]
    assert c_kernels.count((1, 1)) == 3
    assert any(isinstance(m, torch.nn.LocalResponseNorm) for m in table1("A-LRN").modules())


def test_narrow_vgg11_parameters():
    assert count_parameters(vgg(narrow(VGG11_ARCH, 4))) == 43_093_322


def test_block_trace_at_224():
    net = vgg(VGG11_ARCH)
    X = torch.randn(1, 1, 224, 224)
    shapes = []
    for layer in net[:5]:
        X = layer(X)
        shapes.append(tuple(X.shape[1:]))
    assert shapes == [(64, 112, 112), (128, 56, 56), (256, 28, 28), (512, 14, 14), (512, 7, 7)]
    assert len(list(net.children())) == 13  # 5 blocks, Flatten, 7 head layers


@pytest.mark.parametrize("size,flat", [(224, 128 * 7 * 7), (96, 128 * 3 * 3), (32, 128)])
def test_any_input_size(size, flat):
    net = vgg(narrow(VGG11_ARCH, 4), input_size=size)
    assert net[6].in_features == flat
    assert net(torch.randn(2, 1, size, size)).shape == (2, 10)


def test_vgg_block_shapes():
    blk = vgg_block(2, 3, 8)
    assert blk(torch.randn(1, 3, 10, 10)).shape == (1, 8, 5, 5)
    assert sum(isinstance(m, torch.nn.Conv2d) for m in blk) == 2


def test_too_small_input_names_block_and_size():
    with pytest.raises(ValueError, match=r"第 5 个块（共 5 个块）收到 1×1 的特征图.*至少 32×32"):
        vgg(VGG11_ARCH, input_size=28)


@pytest.mark.parametrize("arch,match", [
    ([(0, 64)], "block 1.*at least one conv"),
    ([(1, 64), (1, 0)], "block 2: width must be positive"),
    ([], "empty"),
])
def test_bad_architectures(arch, match):
    with pytest.raises(ValueError, match=match):
        vgg(arch)


def test_ratio_too_large_gives_clear_error():
    with pytest.raises(ValueError, match="width must be positive"):
        vgg(narrow(VGG11_ARCH, 100))


def test_alexnet_matches_d2l_and_rejects_small_inputs():
    net = models.alexnet()
    assert net(torch.randn(1, 1, 224, 224)).shape == (1, 10)
    assert net[14].in_features == 6400
    with pytest.raises(ValueError, match="至少 65×65"):
        models.alexnet(input_size=64)


def test_unknown_configuration():
    with pytest.raises(ValueError, match="unknown configuration 'F'.*vgg16.*alexnet"):
        table1("F")


@pytest.mark.parametrize("arch,ratio", [("vgg11", 4), ("vgg11", 1), ("vgg13", 4), ("vgg16", 4), ("vgg19", 2)])
def test_build_gives_the_chapter_vgg_layer_for_layer(arch, ratio):
    """For 3x3-only configurations, build() and the chapter's vgg() make the same network, same weights."""
    counts = [(len(kernels), width) for kernels, width in models.TABLE1[models.NAMES[arch]]]
    torch.manual_seed(0)
    chapter = vgg(narrow(counts, ratio), input_size=96)
    torch.manual_seed(0)
    built = models.build(arch, ratio=ratio, input_size=96)
    assert repr(built) == repr(chapter)
    assert all(torch.equal(a, b) for a, b in zip(built.state_dict().values(), chapter.state_dict().values()))


def test_build_defaults_are_the_chapters_data():
    net = models.build()  # VGG-11, full width, 1 channel, 10 classes, 224 px: the chapter's vgg(conv_arch)
    assert repr(net) == repr(vgg(VGG11_ARCH))
    assert net(torch.randn(1, 1, 224, 224)).shape == (1, 10)


def test_build_batch_norm_and_alexnet():
    net = models.build("vgg11", ratio=4, batch_norm=True, input_size=32)
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules()) == 8
    assert repr(models.build("alexnet")) == repr(models.alexnet())


def test_vgg_block_is_the_chapters_plain_definition():
    import inspect
    assert list(inspect.signature(vgg_block).parameters) == ["num_convs", "in_channels", "out_channels"]


def test_the_shallow_net_of_section_4_1_swaps_each_pair_of_3x3_for_one_5x5():
    b, shallow = models.table1_arch("B"), models.table1_arch("b-5x5")
    assert [w for _, w in shallow] == [w for _, w in b] and all(k == (3, 3) for k, _ in b)
    assert all(k == (5,) for k, _ in shallow)
    net = models.build("B-5x5", ratio=4, input_size=32)
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 5 and {m.kernel_size for m in convs} == {(5, 5)} and {m.padding for m in convs} == {(2, 2)}
    # one 5x5 (25 c^2 weights) against two 3x3 (18 c^2): more parameters, half the depth
    assert count_parameters(net) > count_parameters(models.build("B", ratio=4, input_size=32))
    assert net(torch.zeros(2, 1, 32, 32)).shape == (2, 10)


def test_fewer_pools_keep_the_feature_map_larger():
    net = models.build("vgg11", ratio=4, input_size=28, pools=3)
    assert sum(isinstance(m, torch.nn.MaxPool2d) for m in net.modules()) == 3
    assert net[:5](torch.zeros(1, 1, 28, 28)).shape == (1, 128, 3, 3)      # 28 -> 14 -> 7 -> 3, then kept
    assert net[6].in_features == 128 * 3 * 3
    assert models.feature_size(VGG11_ARCH, 28, pools=3) == 3
    # the chapter's head at 96 px with 5 pools sees the same 3 x 3 x 128
    assert count_parameters(net) == count_parameters(models.build("vgg11", ratio=4, input_size=96))
    with pytest.raises(ValueError, match="应在 0 到 5（块的个数）之间"):
        models.build("vgg11", input_size=28, pools=6)
    with pytest.raises(ValueError, match=r"至少 32×32 像素.*更少的汇聚层"):
        models.build("vgg11", input_size=28, pools=5)


def test_the_gap_head_averages_each_channel_into_one_linear_layer():
    net = models.build("vgg11", ratio=4, input_size=28, pools=3, head="gap")
    head = list(net)[5:]
    assert isinstance(head[0], torch.nn.AdaptiveAvgPool2d) and isinstance(head[-1], torch.nn.Linear)
    assert head[-1].in_features == 128 and count_parameters(net) < 1_000_000
    assert net(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    # it takes any input size, the chapter's head only the one it was built for
    assert net(torch.zeros(2, 1, 40, 40)).shape == (2, 10)
    with pytest.raises(ValueError, match="unknown head 'nin'"):
        models.build("vgg11", head="nin")
    with pytest.raises(ValueError, match="VGG networks only"):
        models.build("alexnet", head="gap")
