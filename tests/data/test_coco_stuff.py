"""COCO-Stuff -> SRSEG class mapping and the SRSEG boundary mask, checked against hand-made values."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sr_zoo.data.coco_stuff import (
    BUILDINGS,
    COCO_STUFF_LABELS,
    COCO_STUFF_TO_SRSEG,
    GROUND,
    IGNORE_INDEX,
    OTHER,
    PLANTS,
    SKY,
    SRSEG_CLASSES,
    WATER,
    boundary_mask,
    disk,
    map_coco_stuff_labels,
    srseg_lookup_table,
)

# --------------------------------------------------------------------------------------------
# Class table
# --------------------------------------------------------------------------------------------


def test_srseg_classes_and_ignore_index():
    assert SRSEG_CLASSES == ("sky", "ground", "buildings", "plants", "water", "other")
    assert (SKY, GROUND, BUILDINGS, PLANTS, WATER, OTHER) == (0, 1, 2, 3, 4, 5)
    assert IGNORE_INDEX == 255


def test_coco_stuff_names_at_png_ids():
    # PNG value = labels.txt id - 1 (nightrome/cocostuff labels.txt: 1 person, 92 banner, 157 sky-other, 182 wood).
    assert len(COCO_STUFF_LABELS) == 182
    assert len(set(COCO_STUFF_LABELS)) == 182
    expected = {
        0: "person", 11: "street sign", 63: "potted plant", 90: "hair brush", 91: "banner",
        95: "building-other", 105: "clouds", 119: "fog", 123: "grass", 147: "river", 148: "road",
        154: "sea", 156: "sky-other", 158: "snow", 168: "tree", 177: "water-other", 181: "wood",
    }  # fmt: skip
    for label, name in expected.items():
        assert COCO_STUFF_LABELS[label] == name
        assert COCO_STUFF_TO_SRSEG[label].name == name
    # The stuff names (91..181) are in alphabetical order in COCO-Stuff.
    assert list(COCO_STUFF_LABELS[91:]) == sorted(COCO_STUFF_LABELS[91:])


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        (156, SKY),  # sky-other
        (105, SKY),  # clouds
        (119, SKY),  # fog (judgment call: sky, not water)
        (148, GROUND),  # road
        (139, GROUND),  # pavement
        (153, GROUND),  # sand
        (110, GROUND),  # dirt
        (158, GROUND),  # snow
        (144, GROUND),  # playingfield
        (95, BUILDINGS),  # building-other
        (127, BUILDINGS),  # house
        (157, BUILDINGS),  # skyscraper
        (150, BUILDINGS),  # roof
        (94, BUILDINGS),  # bridge
        (168, PLANTS),  # tree
        (96, PLANTS),  # bush
        (128, PLANTS),  # leaves
        (123, PLANTS),  # grass
        (118, PLANTS),  # flower
        (154, WATER),  # sea
        (147, WATER),  # river
        (177, WATER),  # water-other (lakes)
        (0, OTHER),  # person
        (2, OTHER),  # car
        (24, OTHER),  # giraffe
        (63, OTHER),  # potted plant (a thing)
        (11, OTHER),  # street sign (unused id)
        (126, OTHER),  # hill
        (134, OTHER),  # mountain
        (149, OTHER),  # rock
        (170, OTHER),  # wall-brick
        (172, OTHER),  # wall-other
        (114, OTHER),  # floor-other
        (112, OTHER),  # fence
        (169, OTHER),  # vegetable
        (181, OTHER),  # wood
        (255, IGNORE_INDEX),  # unlabeled
    ],
)
def test_lookup_table_values(label, expected):
    assert srseg_lookup_table()[label] == expected
    if label != 255:
        assert COCO_STUFF_TO_SRSEG[label].srseg == expected


def test_table_covers_all_ids_and_stays_in_range():
    assert sorted(COCO_STUFF_TO_SRSEG) == list(range(182))
    assert {entry.srseg for entry in COCO_STUFF_TO_SRSEG.values()} == set(range(6))
    lut = srseg_lookup_table()
    assert lut.shape == (256,) and lut.dtype == np.uint8
    assert set(np.unique(lut).tolist()) == {0, 1, 2, 3, 4, 5, 255}
    assert (lut[:182] <= 5).all()
    assert (lut[182:] == IGNORE_INDEX).all()  # 182..254 unused by COCO-Stuff, 255 unlabeled
    # Things (0..90) are all "other"; only stuff classes form the five backgrounds.
    assert (lut[:91] == OTHER).all()
    counts = np.bincount(lut[:182], minlength=6)
    assert counts.tolist() == [3, 11, 6, 9, 4, 182 - 33]
    # A fresh table each call: editing one copy does not change the next.
    lut[0] = 0
    assert srseg_lookup_table()[0] == OTHER


def test_mapping_follows_the_coco_stuff_hierarchy_except_fog():
    # Leaves of the outdoor stuff supercategories in nightrome/cocostuff10k dataset/code/CocoStuffClasses.m.
    hierarchy = {
        "sky": ["clouds", "sky-other"],
        "ground": ["sand", "snow", "dirt", "mud", "gravel", "road", "pavement", "railroad", "platform",
                   "playingfield", "ground-other"],
        "plant": ["grass", "tree", "bush", "leaves", "flower", "branch", "moss", "straw", "plant-other"],
        "water": ["fog", "river", "sea", "waterdrops", "water-other"],
        "building": ["house", "skyscraper", "bridge", "tent", "roof", "building-other"],
    }  # fmt: skip
    srseg_of = {"sky": SKY, "ground": GROUND, "plant": PLANTS, "water": WATER, "building": BUILDINGS}
    expected = {name: srseg_of[group] for group, names in hierarchy.items() for name in names}
    expected["fog"] = SKY  # the one deliberate departure
    got = {entry.name: entry.srseg for entry in COCO_STUFF_TO_SRSEG.values() if entry.srseg != OTHER}
    assert got == expected


def test_map_numpy_uint8_png():
    png = np.array([[156, 154, 168], [95, 148, 0], [255, 119, 63]], dtype=np.uint8)
    out = map_coco_stuff_labels(png)
    assert isinstance(out, np.ndarray) and out.dtype == np.uint8 and out.shape == (3, 3)
    np.testing.assert_array_equal(out, [[SKY, WATER, PLANTS], [BUILDINGS, GROUND, OTHER], [255, SKY, OTHER]])
    assert png[0, 0] == 156  # input untouched


def test_map_numpy_other_int_dtypes():
    png = np.array([156, 255, 0], dtype=np.int32)
    out = map_coco_stuff_labels(png)
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, [SKY, 255, OTHER])


@pytest.mark.parametrize("dtype", [torch.uint8, torch.int32, torch.long])
def test_map_torch_keeps_dtype(dtype):
    labels = torch.tensor([[[156, 147], [255, 124]]], dtype=dtype)
    out = map_coco_stuff_labels(labels)
    assert isinstance(out, torch.Tensor) and out.dtype == dtype and out.shape == (1, 2, 2)
    assert out.tolist() == [[[SKY, WATER], [255, GROUND]]]


def test_map_all_png_values_round_trip():
    values = np.arange(256, dtype=np.uint8)
    np.testing.assert_array_equal(map_coco_stuff_labels(values), srseg_lookup_table())
    np.testing.assert_array_equal(map_coco_stuff_labels(torch.from_numpy(values)).numpy(), srseg_lookup_table())


def test_map_rejects_bad_input():
    with pytest.raises(ValueError):
        map_coco_stuff_labels(np.array([300], dtype=np.int32))
    with pytest.raises(ValueError):
        map_coco_stuff_labels(torch.tensor([-1]))
    with pytest.raises(TypeError):
        map_coco_stuff_labels(np.array([1.0]))
    with pytest.raises(TypeError):
        map_coco_stuff_labels(torch.tensor([1.0]))
    with pytest.raises(TypeError):
        map_coco_stuff_labels([1, 2])


# --------------------------------------------------------------------------------------------
# Boundary mask
# --------------------------------------------------------------------------------------------


def _grid(rows: str) -> torch.Tensor:
    """'#' = False (near a boundary or ignored), '.' = True (the loss counts)."""
    return torch.tensor([[c == "." for c in row] for row in rows.split()])


def test_disk_shapes():
    assert disk(0).tolist() == [[True]]
    assert _grid(".#. ### .#.").logical_not().tolist() == disk(1).tolist()
    assert disk(2).tolist() == _grid("..#.. .###. ##### .###. ..#..").logical_not().tolist()
    d3 = "...#... .#####. .#####. ####### .#####. .#####. ...#..."
    assert disk(3).tolist() == _grid(d3).logical_not().tolist()
    with pytest.raises(ValueError):
        disk(-1)


def test_disk_matches_skimage():
    morphology = pytest.importorskip("skimage.morphology")
    for radius in range(6):
        np.testing.assert_array_equal(disk(radius).numpy(), morphology.disk(radius).astype(bool))


def _vertical_edge() -> torch.Tensor:
    labels = torch.zeros(9, 9, dtype=torch.long)
    labels[:, 4:] = 7  # the edge runs between columns 3 and 4
    return labels


@pytest.mark.parametrize(
    ("radius", "row"),
    [
        (0, "...##...."),  # the two columns at the edge
        (1, "..####..."),  # widened by one on each side
        (2, ".######.."),  # by two
        (3, "########."),  # by three (clipped at the left border)
    ],
)
def test_vertical_edge(radius, row):
    expected = _grid(" ".join([row] * 9))
    assert torch.equal(boundary_mask(_vertical_edge(), radius=radius), expected)


def test_horizontal_edge_uint8():
    labels = torch.full((6, 5), 3, dtype=torch.uint8)
    labels[:2] = 5  # edge between rows 1 and 2
    expected = _grid("#####  #####  #####  #####  .....  .....")
    assert torch.equal(boundary_mask(labels, radius=1), expected)


# A single pixel of another class in the middle of a 9x9 map: its 4-neighbour boundary is a plus.
_DOT_EXPECTED = {
    0: """
        .........
        .........
        .........
        ....#....
        ...###...
        ....#....
        .........
        .........
        .........
    """,
    1: """
        .........
        .........
        ....#....
        ...###...
        ..#####..
        ...###...
        ....#....
        .........
        .........
    """,
    # plus (+) dilated by the radius-2 disk = all pixels within L1 distance 3 of the centre.
    2: """
        .........
        ....#....
        ...###...
        ..#####..
        .#######.
        ..#####..
        ...###...
        ....#....
        .........
    """,
}


@pytest.mark.parametrize("radius", [0, 1, 2])
def test_single_pixel_region(radius):
    labels = torch.zeros(9, 9, dtype=torch.long)
    labels[4, 4] = 1
    mask = boundary_mask(labels, radius=radius)
    assert mask.dtype == torch.bool and mask.shape == (9, 9)
    assert torch.equal(mask, _grid(_DOT_EXPECTED[radius]))


def test_disk_is_not_a_square():
    labels = torch.zeros(9, 9, dtype=torch.long)
    labels[4, 4] = 1
    mask = boundary_mask(labels, radius=2)
    # A 5x5 square would reach (2, 2) from the boundary pixel (4, 4) and (1, 3) from (3, 4);
    # the disk of radius 2 does not (distance sqrt(8) and sqrt(5) > 2).
    assert mask[2, 2] and mask[1, 3] and mask[6, 6] and mask[3, 1]
    assert not mask[2, 4] and not mask[4, 2] and not mask[3, 3]  # within the disk


def test_ignore_pixels_are_false_and_bound_a_region():
    labels = torch.full((6, 6), 2, dtype=torch.long)
    labels[:2, :2] = IGNORE_INDEX
    expected = _grid("###... ###... ##.... ...... ...... ......")
    assert torch.equal(boundary_mask(labels, radius=0), expected)
    # Any ignore value works.
    labels[:2, :2] = 9
    assert torch.equal(boundary_mask(labels, radius=0, ignore_index=9), expected)
    # A uniform map has no boundary: all True, or all False when it is all ignored.
    assert boundary_mask(torch.full((4, 5), 3), radius=2).all()
    assert not boundary_mask(torch.full((4, 5), IGNORE_INDEX), radius=2).any()


def test_batched_equals_per_image_and_dtypes_agree():
    generator = torch.Generator().manual_seed(0)
    # Blocky random maps (4x4 blocks) so that there are real regions, plus a few ignore pixels.
    blocks = torch.randint(0, 6, (3, 5, 5), generator=generator)
    labels = blocks.repeat_interleave(4, dim=1).repeat_interleave(4, dim=2)[:, :19, :17].clone()
    labels[torch.rand(labels.shape, generator=generator) < 0.02] = IGNORE_INDEX
    for radius in (0, 1, 2, 3):
        batched = boundary_mask(labels, radius=radius)
        assert batched.shape == labels.shape and batched.dtype == torch.bool
        per_image = torch.stack([boundary_mask(image, radius=radius) for image in labels])
        assert torch.equal(batched, per_image)
        assert torch.equal(boundary_mask(labels.to(torch.uint8), radius=radius), batched)


def test_matches_scipy_reference():
    ndimage = pytest.importorskip("scipy.ndimage")
    rng = np.random.default_rng(1)
    labels = rng.integers(0, 4, size=(2, 8, 8)).repeat(3, axis=1).repeat(3, axis=2)
    labels[rng.random(labels.shape) < 0.03] = IGNORE_INDEX
    for radius in (0, 1, 2, 4):
        expected = []
        for image in labels:
            edges = np.zeros(image.shape, dtype=bool)
            dx = image[:, 1:] != image[:, :-1]
            dy = image[1:, :] != image[:-1, :]
            edges[:, 1:] |= dx
            edges[:, :-1] |= dx
            edges[1:, :] |= dy
            edges[:-1, :] |= dy
            if radius:
                edges = ndimage.binary_dilation(edges, structure=disk(radius).numpy())
            expected.append(~edges & (image != IGNORE_INDEX))
        got = boundary_mask(torch.from_numpy(labels), radius=radius)
        np.testing.assert_array_equal(got.numpy(), np.stack(expected))


def test_boundary_mask_on_mapped_coco_labels():
    png = np.full((7, 7), 156, dtype=np.uint8)  # sky-other
    png[4:, :] = 154  # sea
    png[:4, :] = np.where(np.arange(7) < 3, 105, 156)  # clouds and sky-other: both sky, no edge
    srseg = torch.from_numpy(map_coco_stuff_labels(png)).long()
    mask = boundary_mask(srseg, radius=1)
    expected = _grid("....... ....... ####### ####### ####### ####### .......")
    assert torch.equal(mask, expected)


def test_boundary_mask_rejects_bad_input():
    with pytest.raises(ValueError):
        boundary_mask(torch.zeros(1, 1, 4, 4, dtype=torch.long))
    with pytest.raises(TypeError):
        boundary_mask(torch.zeros(4, 4))
    with pytest.raises(ValueError):
        boundary_mask(torch.zeros(4, 4, dtype=torch.long), radius=-1)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_boundary_mask_on_cuda_matches_cpu():
    generator = torch.Generator().manual_seed(3)
    labels = torch.randint(0, 3, (2, 6, 6), generator=generator).repeat_interleave(5, 1).repeat_interleave(5, 2)
    for radius in (0, 2, 5):
        on_gpu = boundary_mask(labels.cuda(), radius=radius)
        assert on_gpu.device.type == "cuda"
        assert torch.equal(on_gpu.cpu(), boundary_mask(labels, radius=radius))
    assert map_coco_stuff_labels(torch.tensor([156, 255], device="cuda")).tolist() == [SKY, IGNORE_INDEX]
