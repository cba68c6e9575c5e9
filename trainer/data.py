"""Datasets, transforms, samplers and loaders, from timm's parts.

Two departures from timm's ``create_loader``, both deliberate:

* Repeated augmentation without DDP. ``create_loader`` refuses it, but timm's
  ``RepeatAugSampler`` with ``num_replicas=1`` gives one worker exactly the global batch
  composition that N workers see together (each chosen image three times per step, about
  one third of the images per epoch), so the recipe means the same at any worker count.
* The data order follows ``seed_data``. ``RepeatAugSampler`` seeds its permutation with the
  epoch number alone, so every seed would see the same order; we hand it
  ``derive_seed(seed_data, epoch)`` as its "epoch". torch's ``DistributedSampler`` (used when
  repeated augmentation is off) takes a seed already.

A third: an unreadable image stops the run and names the file. timm's ``ImageDataset`` logs a
warning and silently substitutes the next image, which would change what a seed sees.

And one of cost: the per-image transforms stop at timm's uint8 tensor (``normalize=False``,
as timm's own prefetcher path does) and :class:`NormalizedLoader` scales and normalizes the
whole batch with the very operations of ``ToTensor`` + ``Normalize``; the values are
bit-identical (float32 elementwise, same order), at a third of the data time on small
images. With random erasing (``reprob`` > 0), which timm applies per image after
normalizing, the per-image path is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import torch
from PIL import Image
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD, ImageDataset, create_transform
from timm.data.distributed_sampler import RepeatAugSampler
from torch.utils.data import DataLoader, DistributedSampler, Sampler

from trainer.config import TrainConfig, derive_seed
from trainer.datafolder import check_eval_set, check_image_folder
from trainer.targets import embedded_root
from trainer.errors import ConfigError, DataError

class StrictImageDataset(ImageDataset):
    """timm's ImageDataset, except that an unreadable image raises :class:`DataError` naming it.

    With ``cache_decoded`` the decoded images stay in memory (in the loading process), which
    saves a third of the data time on small sets such as the embedded digits. With
    ``cache_transformed`` (only for a deterministic transform: evaluation) the transformed
    samples stay in memory too, so that every epoch's evaluation after the first skips the
    per-image resize and crop.
    """

    def __init__(self, root: str, cache_decoded: bool = False, cache_transformed: bool = False, **kwargs):
        super().__init__(root, **kwargs)
        self._max_retries = 1
        self._decoded: Optional[dict[int, tuple[Image.Image, int]]] = {} if cache_decoded else None
        self._transformed: Optional[dict[int, tuple]] = {} if cache_transformed else None

    def set_transform(self, transform) -> None:
        """Evaluate with ``transform`` from now on: decoded images stay cached, transformed samples do not."""
        self.transform = transform
        if self._transformed is not None:
            self._transformed.clear()

    def __getitem__(self, index: int):
        if self._transformed is not None and index in self._transformed:
            return self._transformed[index]
        item = self._load(index) if self._decoded is None else self._transform_decoded(index)
        if self._transformed is not None:
            self._transformed[index] = item
        return item

    def _transform_decoded(self, index: int):
        if index not in self._decoded:
            transform, self.transform = self.transform, None
            try:
                self._decoded[index] = self._load(index)
            finally:
                self.transform = transform
        img, target = self._decoded[index]
        return (self.transform(img) if self.transform is not None else img), target

    def _load(self, index: int):
        try:
            return super().__getitem__(index)
        except RuntimeError:
            path = self.reader.filename(index, absolute=True)
            try:
                with Image.open(path) as img:
                    img.convert("RGB")
                reason = "unreadable"
            except Exception as exc:  # the decoder's own words are the useful part
                reason = str(exc)
            raise DataError(f"corrupt image {path}: {reason}; remove or replace the file") from None


@dataclass(frozen=True)
class DataSplits:
    """The training and evaluation datasets of one run, with the class count."""

    train: StrictImageDataset
    val: StrictImageDataset
    extra: tuple[tuple[str, StrictImageDataset], ...]
    num_classes: int
    root: Path


def data_root(config: TrainConfig) -> Path:
    """The ImageFolder root for ``config``: ``--data``, or the embedded set ``dataset`` names (trainer.targets)."""
    return Path(config.data).expanduser() if config.data else embedded_root(config.dataset)


def build_datasets(config: TrainConfig) -> DataSplits:
    """Train and validation sets (and extra evaluation sets) with the recipe's transforms."""
    root = data_root(config)
    classes = check_image_folder(root)
    class_map = {name: i for i, name in enumerate(classes)}
    cache = config.cache_images
    train = StrictImageDataset(str(root / "train"), cache, class_map=class_map, transform=train_transform(config))
    val, extra = build_eval_datasets(config, root, classes)
    return DataSplits(train=train, val=val, extra=extra, num_classes=len(classes), root=root)


def build_eval_datasets(
    config: TrainConfig, root: Path, classes: list[str]
) -> tuple[StrictImageDataset, tuple[tuple[str, StrictImageDataset], ...]]:
    """The validation set and each extra evaluation set (``config.eval_sets``), with the
    evaluation transform; also used alone to re-evaluate a finished run (:mod:`trainer.evaluate`)."""
    class_map = {name: i for i, name in enumerate(classes)}
    cache = config.cache_images
    val = StrictImageDataset(str(root / "val"), cache, cache, class_map=class_map, transform=eval_transform(config))
    extra = []
    for name, path in config.eval_sets:
        folder = check_eval_set(name, path, classes)
        extra.append((name, StrictImageDataset(str(folder), class_map=class_map, transform=eval_transform(config))))
    return val, tuple(extra)


def _normalize_per_image(config: TrainConfig) -> bool:
    """Random erasing works on normalized images, one at a time; everything else is batched."""
    return config.reprob > 0


def train_transform(config: TrainConfig):
    """RandAugment, random-resized crop and flip at ``train_res`` (timm's ImageNet train transform)."""
    return create_transform(
        input_size=config.train_res,
        is_training=True,
        auto_augment=config.auto_augment,
        color_jitter=config.color_jitter or None,
        interpolation=config.interpolation,
        re_prob=config.reprob,
        normalize=_normalize_per_image(config),
    )


def eval_transform(config: TrainConfig):
    """Resize and centre crop at ``test_res`` with ratio ``crop_pct``."""
    return create_transform(
        input_size=config.test_res,
        is_training=False,
        interpolation=config.interpolation,
        crop_pct=config.crop_pct,
        normalize=_normalize_per_image(config),
    )


class NormalizedLoader:
    """A loader whose uint8 image batches come out as ``ToTensor`` + ``Normalize`` would make them.

    Float batches (the per-image path) pass through untouched.
    """

    def __init__(self, loader: DataLoader):
        self.loader = loader
        self.dataset, self.sampler, self.batch_size = loader.dataset, loader.sampler, loader.batch_size
        self._mean = torch.tensor(IMAGENET_DEFAULT_MEAN).view(1, 3, 1, 1)
        self._std = torch.tensor(IMAGENET_DEFAULT_STD).view(1, 3, 1, 1)

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        for x, y in self.loader:
            if x.dtype == torch.uint8:
                x = x.float().div_(255).sub_(self._mean).div_(self._std)
            yield x, y


def train_sampler(config: TrainConfig, dataset, world_size: int, rank: int) -> Sampler:
    """Repeated-augmentation sampler (``aug_repeats`` > 0) or a plain shuffling one."""
    if config.aug_repeats > 0:
        return RepeatAugSampler(dataset, num_replicas=world_size, rank=rank, num_repeats=config.aug_repeats)
    return DistributedSampler(dataset, num_replicas=world_size, rank=rank, shuffle=True, seed=config.seed_data, drop_last=False)


def set_sampler_epoch(sampler: Sampler, config: TrainConfig, epoch: int) -> None:
    """Make the epoch's order a function of (``seed_data``, epoch); see the module note."""
    if isinstance(sampler, RepeatAugSampler):
        sampler.set_epoch(derive_seed(config.seed_data, epoch))
    else:
        sampler.set_epoch(epoch)


def per_worker_batch(config: TrainConfig, world_size: int) -> int:
    """The global batch split evenly over workers; an error if it does not divide."""
    if config.batch_size % world_size:
        raise ConfigError(f"batch_size={config.batch_size} is not divisible by {world_size} workers")
    return config.batch_size // world_size


def train_loader(config: TrainConfig, dataset, sampler: Sampler, world_size: int, generator: torch.Generator) -> NormalizedLoader:
    """The training loader. Worker processes seed their augmentation from ``generator``."""
    return NormalizedLoader(DataLoader(
        dataset,
        batch_size=per_worker_batch(config, world_size),
        sampler=sampler,
        num_workers=config.workers,
        drop_last=True,
        pin_memory=torch.cuda.is_available() and config.device != "cpu",
        generator=generator,
        persistent_workers=False,
    ))


def eval_loader(config: TrainConfig, dataset, world_size: int, rank: int) -> NormalizedLoader:
    """A loader over this worker's strided share of ``dataset``, without padding.

    Padding (as ``DistributedSampler`` does) would count some images twice; summing exact
    counts over workers gives the same metrics at any worker count.

    The loader has its own generator: without one, every pass draws its worker base seed
    from torch's global generator, which drop-path also uses, so adding an evaluation set
    changed training. Evaluation transforms are deterministic; the seed only feeds workers.
    """
    indices = list(range(rank, len(dataset), world_size))
    return NormalizedLoader(DataLoader(
        torch.utils.data.Subset(dataset, indices),
        batch_size=max(1, per_worker_batch(config, world_size)),
        shuffle=False,
        num_workers=config.workers,
        drop_last=False,
        generator=torch.Generator().manual_seed(0),
    ))
