"""SRCNN's central-pixel loss (SRCNN paper, TPAMI 2016, Sec. 3.3): the border it leaves out is where a training
patch's output differs from the whole image's."""

import pytest
import torch

from sr_zoo.models.srcnn.model import SRCNN, SRCNNNet, loss_border_for


def random_net(scale: int) -> SRCNNNet:
    torch.manual_seed(0)
    net = SRCNNNet(scale)
    for p in net.parameters():  # weights large enough that every tap matters
        torch.nn.init.normal_(p, std=0.1)
    return net.eval()


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_the_loss_border_leaves_only_pixels_computed_as_in_the_whole_image(scale: int) -> None:
    net = random_net(scale)
    image = torch.rand(1, 1, 40, 40)
    top, left, side = 11, 13, 16
    with torch.no_grad():
        whole = net(image)
        patch = net(image[..., top:top + side, left:left + side])
    whole = whole[..., top * scale:(top + side) * scale, left * scale:(left + side) * scale]
    border = loss_border_for(9, 1, 5, scale)
    inner = (slice(None), slice(None), slice(border, -border), slice(border, -border))
    scale_of_values = whole.abs().max().item()  # float rounding grows with the values, on any CPU's kernels
    torch.testing.assert_close(patch[inner], whole[inner], rtol=0, atol=1e-5 * max(scale_of_values, 1.0))
    # and the border it leaves out is not: the outermost pixels differ
    assert (patch - whole)[..., :, :1].abs().max() > 1e-2 * scale_of_values


def test_the_pixel_loss_is_the_mse_of_the_central_pixels() -> None:
    model = SRCNN(3, loss_border=12)
    sr, hr = torch.rand(2, 1, 48, 48), torch.rand(2, 1, 48, 48)
    expected = ((sr[..., 12:36, 12:36] - hr[..., 12:36, 12:36]) ** 2).mean()
    torch.testing.assert_close(model.pixel_loss(sr, hr), expected)
    assert SRCNN(3).pixel_loss(sr, hr) == pytest.approx(((sr - hr) ** 2).mean().item())


def test_a_loss_border_that_leaves_nothing_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="loss_border 24 leaves nothing of a 48x48 HR patch"):
        SRCNN(3, loss_border=24).pixel_loss(torch.rand(1, 1, 48, 48), torch.rand(1, 1, 48, 48))
    with pytest.raises(ValueError, match="loss_border must be >= 0"):
        SRCNN(3, loss_border=-1)


def test_the_inits_have_the_stated_scales() -> None:
    torch.manual_seed(0)
    paper, he = SRCNN(3).net, SRCNN(3, weight_init="he").net
    for layer, fan_in in (("features", 81), ("mapping", 64)):
        assert getattr(paper, layer).weight.std().item() == pytest.approx(1e-3, rel=0.1)
        assert getattr(he, layer).weight.std().item() == pytest.approx((2 / fan_in) ** 0.5, rel=0.1)
        assert not getattr(he, layer).bias.any()
    assert he.reconstruction.weight.std().item() == pytest.approx(1e-3, rel=0.1)  # linear output: the paper's
    with pytest.raises(ValueError, match="weight_init must be 'paper' or 'he', got 'xavier'"):
        SRCNN(3, weight_init="xavier")
