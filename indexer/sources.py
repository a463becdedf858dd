"""Which files below the source folder may be read, and reading them without leaving it.

A content repository is not trusted with the server: a `notes.md` symlink to `/proc/self/environ` or
`/etc/passwd` must not become an answer. Only regular files whose resolved path lies inside the resolved
source folder are read, and exactly that resolved path is opened; every other candidate is skipped with why.
"""
from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

MB = 1024 * 1024
MARKDOWN_SUFFIXES = (".md", ".markdown", ".mdx")  # what a knowledge base's Markdown files are named
# A site's navigation, not content: GitBook's and mdBook's SUMMARY.md, Docsify's _sidebar.md, a GitHub wiki's
# _Sidebar.md. Every page title as a link answers nothing, yet matches every question's topic words: on the
# sample knowledge base with a SUMMARY.md of its titles and headings, it took a top-3 place for 2 of 108 questions.
NAVIGATION_FILES = frozenset({"SUMMARY.md", "_sidebar.md", "_navbar.md", "_coverpage.md", "_Sidebar.md", "_Footer.md"})
_KINDS = {stat.S_IFIFO: "a FIFO", stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
          stat.S_IFSOCK: "a socket", stat.S_IFDIR: "a folder", stat.S_IFLNK: "a symlink"}


@dataclass(frozen=True)
class Skipped:
    """A file (or symlinked folder) left out of the index, and why."""

    path: str  # relative to the source folder
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


class Unreadable(Exception):
    """A file that turned out not to be indexable when opened."""

    def __init__(self, skipped: Skipped):
        super().__init__(str(skipped))
        self.skipped = skipped


@dataclass(frozen=True)
class SourceFile:
    path: str  # relative to the source folder: the name the index knows it by
    real: Path  # the resolved file, inside the source folder: what is read


def _hidden(rel: Path) -> bool:
    return any(part.startswith(".") for part in rel.parts)


def _not_regular(mode: int) -> str:
    return f"not a regular file ({_KINDS.get(stat.S_IFMT(mode), 'a special file')})"


def scan(source: Path) -> tuple[list[SourceFile], list[Skipped]]:
    """Every Markdown file (MARKDOWN_SUFFIXES) below `source` that may be read and is not navigation
    (NAVIGATION_FILES), and every other candidate with its reason.

    Hidden folders (.git and the like) are passed over silently; symlinked folders are never followed.
    """
    root = Path(os.path.realpath(source))
    files: list[SourceFile] = []
    skipped: list[Skipped] = []

    def unlistable(exc: OSError) -> None:
        skipped.append(Skipped(Path(exc.filename).relative_to(root).as_posix(), f"folder cannot be read ({exc.strerror})"))

    for folder, dirs, names in os.walk(root, onerror=unlistable):  # followlinks=False: links stay unwalked
        for name in list(dirs):
            if name.startswith("."):
                dirs.remove(name)
            elif os.path.islink(os.path.join(folder, name)):
                dirs.remove(name)
                skipped.append(_symlinked_folder(root, Path(folder, name)))
        for name in (n for n in names if n.endswith(MARKDOWN_SUFFIXES) and not n.startswith(".")):
            if name in NAVIGATION_FILES:
                skipped.append(Skipped(Path(folder, name).relative_to(root).as_posix(), "the site's navigation, not content"))
                continue
            entry = _check(root, Path(folder, name))
            (files if isinstance(entry, SourceFile) else skipped).append(entry)
    return sorted(files, key=lambda f: f.path.split("/")), sorted(skipped, key=lambda s: s.path.split("/"))  # as Path sorts


def _symlinked_folder(root: Path, link: Path) -> Skipped:
    target = Path(os.path.realpath(link))
    where = "it points inside the source" if target.is_relative_to(root) else "it leads outside the source folder"
    return Skipped(link.relative_to(root).as_posix(), f"symlinked folder, not followed ({where})")


def _check(root: Path, file: Path) -> SourceFile | Skipped:
    """The file to read for `file` (a path below `root`, which is resolved), or why it is skipped."""
    path = file.relative_to(root).as_posix()
    real = Path(os.path.realpath(file))
    if not real.is_relative_to(root):
        return Skipped(path, "symlink to a file outside the source folder")
    if _hidden(real.relative_to(root)):
        return Skipped(path, "symlink to a hidden file or folder (.git, .env and the like)")
    try:
        mode = os.stat(real).st_mode
    except OSError as exc:
        reason = "broken symlink" if file.is_symlink() else "cannot be read"
        return Skipped(path, f"{reason} ({exc.strerror})")
    if not stat.S_ISREG(mode):
        return Skipped(path, _not_regular(mode))
    return SourceFile(path, real)


def read_bytes(file: SourceFile, max_mb: float) -> bytes:
    """The bytes of `file.real`, opened without following a link or waiting on a FIFO; raises Unreadable."""
    max_bytes = int(max_mb * MB)
    try:
        fd = os.open(file.real, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise Unreadable(Skipped(file.path, f"cannot be read ({exc.strerror})")) from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)  # what was opened, in case the entry changed since it was checked
        if not stat.S_ISREG(info.st_mode):
            raise Unreadable(Skipped(file.path, _not_regular(info.st_mode)))
        if info.st_size > max_bytes:
            raise Unreadable(Skipped(file.path, _too_big(info.st_size, max_mb)))
        raw = handle.read(max_bytes + 1)
    if len(raw) > max_bytes:  # it grew while we read it
        raise Unreadable(Skipped(file.path, _too_big(len(raw), max_mb)))
    return raw


def _too_big(size: int, max_mb: float) -> str:
    return f"{size / MB:.1f} MB is over KB_MAX_FILE_MB={max_mb:g}"
