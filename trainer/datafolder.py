"""What an ImageFolder data tree must look like, checked before any run (or sweep) starts.

Light on purpose (pathlib and PIL, no torch): the trainer checks its data with it when a
run starts, and the sweep driver checks every trial's data with it before it dispatches
anything (on the cluster, in a small Ray task, when the data lives there).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable, Optional

from trainer.errors import DataError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm")


def check_image_folder(root: Path, splits: tuple[str, ...] = ("train", "val")) -> list[str]:
    """Validate an ImageFolder tree; return its class names. Errors say what to fix.

    Each split must exist, hold at least one class folder, each class folder at least one
    image, and the first image of each split must decode; every split has the same classes.
    """
    root = Path(root)
    if not root.exists():
        raise DataError(f"data folder {root} does not exist; pass --data PATH to an ImageFolder with train/ and val/")
    if not root.is_dir():
        raise DataError(f"data path {root} is not a folder; pass --data PATH to an ImageFolder with train/ and val/")
    classes: Optional[list[str]] = None
    for split in splits:
        folder = root / split
        if not folder.is_dir():
            raise DataError(f"data folder {root} has no {split}/ subfolder; expected {root}/{split}/<class>/<image>")
        names = sorted(p.name for p in folder.iterdir() if p.is_dir())
        if not names:
            raise DataError(f"{folder} has no class subfolders; expected {folder}/<class>/<image>")
        first: Optional[Path] = None
        for name in names:
            image = next((f for f in (folder / name).iterdir() if f.suffix.lower() in IMAGE_SUFFIXES), None)
            if image is None:
                raise DataError(f"class folder {folder / name} holds no images; add images or remove the folder")
            first = first or image
        _check_readable(first)
        if classes is None:
            classes = names
        elif names != classes:
            missing = sorted(set(classes) ^ set(names))
            raise DataError(f"{folder} and {root / splits[0]} have different classes ({', '.join(missing[:5])}); they must match")
    return classes or []


def _check_readable(path: Path) -> None:
    from PIL import Image

    try:
        with Image.open(path) as img:
            img.convert("RGB")
    except Exception as exc:  # the decoder's own words are the useful part
        raise DataError(f"corrupt image {path}: {exc}; remove or replace the file") from None


def eval_set_folder(path: str | Path) -> Path:
    """The image folder of an extra evaluation set: ``PATH/val`` if it exists, else ``PATH`` itself."""
    root = Path(path).expanduser()
    return root / "val" if (root / "val").is_dir() else root


def check_eval_set(name: str, path: str | Path, classes: list[str]) -> Path:
    """Validate an extra evaluation set against the training classes; return its image folder."""
    folder = eval_set_folder(path)
    extra_classes = check_image_folder(folder.parent, (folder.name,))
    if extra_classes != classes:
        raise DataError(f"evaluation set {name!r} at {folder} has classes {extra_classes[:5]}…, not the training "
                        f"classes {classes[:5]}…; it must use the same class folders")
    return folder


def check_data(data: str | Path, eval_sets: Iterable[tuple[str, str]] = ()) -> list[str]:
    """Everything a run's data needs: the ImageFolder at ``data`` and each extra evaluation set."""
    classes = check_image_folder(Path(data).expanduser())
    for name, path in eval_sets:
        check_eval_set(name, path, classes)
    return classes
