"""The Models screen (key `M` everywhere, or the palette): every checkpoint magstation
knows, installed (✓) or not, with family, size, what uses it and where it lives; pull
with a progress bar, percent and ETA (cancel keeps the partial download, pulling again
resumes it), import a file or folder, verify, remove with confirmation.

It shows `app.models` (tui/models_book.py) and asks it to act; pulls run in the engine and
go on when this screen is closed.
"""

from __future__ import annotations

from typing import Any

from rich.markup import escape
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from engine.checkpoints import human_size
from tui.models_book import ModelBook, PullState, eta_text
from tui.widgets.mix_view import progress_bar
from tui.widgets.prompt import AskText, Confirm

# Status before "Used by": at 80 columns the last column is the one cut off (the detail
# panel under the table repeats it).
COLUMNS = (("mark", " "), ("name", "Model"), ("family", "Family"), ("size", "Size"),
           ("status", "Status"), ("used", "Used by"))


def status_text(row: dict[str, Any], pull: PullState | None) -> str:
    if pull is not None:
        if pull.total <= 0:
            return pull.message
        return f"{pull.fraction:4.0%} {eta_text(pull.eta_s)}"
    if row["installed"]:
        return "shipped" if row["shipped"] else "imported" if row["custom"] else "installed"
    if row["shipped"]:
        return "missing from checkpoints/"
    if row.get("partial_bytes"):
        return f"paused {human_size(row['partial_bytes'])}"
    return "—"


def size_of(row: dict[str, Any]) -> str:
    return human_size(row["disk_size"]) if row["installed"] and row["disk_size"] else row["size_text"]


class ModelsScreen(Screen[None]):
    DEFAULT_CSS = """
    ModelsScreen { layout: vertical; }
    #models-title { height: 1; padding: 0 1; color: $text-muted; }
    #models-table { height: 1fr; }
    #models-detail { height: auto; max-height: 9; padding: 0 1; background: $panel; }
    """
    BINDINGS = [
        Binding("p", "pull", "Pull / resume"),
        Binding("x", "cancel_pull", "Cancel pull"),
        Binding("i", "import_model", "Import"),
        Binding("v", "verify", "Verify"),
        Binding("d,delete", "remove", "Remove"),
        Binding("r", "refresh", "Refresh"),
        Binding("escape", "close", "Back"),
    ]

    def __init__(self, select: str | None = None) -> None:
        super().__init__()
        self.select_name = select
        self._shown: list[str] = []  # row names in table order

    @property
    def book(self) -> ModelBook:
        return self.app.models  # type: ignore[attr-defined]

    def compose(self) -> ComposeResult:
        yield Static("[b]Models[/b]", id="models-title")
        table: DataTable = DataTable(id="models-table", cursor_type="row", zebra_stripes=True)
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        yield table
        yield Static(id="models-detail")
        yield Footer()

    def on_mount(self) -> None:
        self.models_changed()
        self.query_one(DataTable).focus()
        self.run_worker(self.book.refresh(), group="models-refresh")

    # -- drawing ------------------------------------------------------------------------
    def models_changed(self) -> None:
        """Redraw from the book: rebuild the rows when the set changed, else the cells."""
        book = self.book
        tables = list(self.query(DataTable).results(DataTable))
        if not tables:
            return  # the screen is closing
        table = tables[0]
        names = list(book.rows)
        installed = sum(1 for r in book.rows.values() if r["installed"])
        where = f" · in {escape(book.checkpoints_dir)}" if book.checkpoints_dir else ""
        title = (f"[b]Models[/b] · {installed} of {len(names)} installed{where}" if book.loaded
                 else "[b]Models[/b] · asking the engine…")
        if book.list_error:
            title += f" · [red]{escape(book.list_error)}[/]"
        self.query_one("#models-title", Static).update(title)
        current = self.selected_name()
        used_width = self._used_width()  # once per redraw: it looks at every row
        if names != self._shown:
            table.clear()
            for name in names:
                table.add_row(*self._cells(book.rows[name], used_width), key=name)
            self._shown = names
            target = self.select_name or current
            row = book.row(target)
            if row is not None and row["name"] in names:
                table.move_cursor(row=names.index(row["name"]))
                if target == self.select_name:
                    self.select_name = None
        else:
            for name in names:
                for (key, _), value in zip(COLUMNS, self._cells(book.rows[name], used_width)):
                    table.update_cell(name, key, value, update_width=True)
        self._draw_detail()

    def _cells(self, row: dict[str, Any], used_width: int) -> list[str | Text]:
        pull = self.book.pulls.get(row["name"])
        mark = "[yellow]↓[/]" if pull else "[green]✓[/]" if row["installed"] else " "
        used = Text(", ".join(row["used_by"]) or "—")
        used.truncate(used_width, overflow="ellipsis")  # the detail panel has it whole
        return [mark, escape(row["name"]), row["family"], size_of(row), status_text(row, pull), used]

    def _used_width(self) -> int:
        """What is left of the screen's width for "Used by" once the other columns (as wide
        as their widest cell, plus padding and the scroll bar) are drawn."""
        cells = [self._plain_cells(r) for r in self.book.rows.values()]
        others = [max([len(label)] + [Text.from_markup(c[i]).cell_len for c in cells])
                  for i, (_, label) in enumerate(COLUMNS[:-1])]
        return max(8, self.size.width - sum(others) - 2 * len(COLUMNS) - 2)

    def _plain_cells(self, row: dict[str, Any]) -> list[str]:
        pull = self.book.pulls.get(row["name"])
        return [" ", escape(row["name"]), row["family"], size_of(row), status_text(row, pull)]

    def on_resize(self) -> None:
        if self._shown:  # "Used by" is cut to the new width
            self.models_changed()

    def _draw_detail(self) -> None:
        name = self.selected_name()
        row = self.book.rows.get(name) if name else None
        detail = self.query_one("#models-detail", Static)
        if row is None:
            detail.update("[dim]no models listed yet[/]")
            return
        lines = [f"[b]{escape(row['name'])}[/] · {row['family']} · config {escape(row['config'])}"
                 f" · {escape(row['description'] or '')}",
                 f"used by: {escape(', '.join(row['used_by']) or 'nothing in the panes yet')}"]
        if row["installed"]:
            lines.append(f"lives in {escape(row['path'] or row['install_dir'])}")
        else:
            lines.append(f"would live in {escape(row['install_dir'])}")
        pull = self.book.pulls.get(row["name"])
        if pull is not None:
            sizes = (f"{human_size(pull.done)} of {human_size(pull.total)}" if pull.total
                     else pull.message)
            lines.append(f"{progress_bar(pull.fraction, 30)} {pull.fraction:4.0%}  {sizes}  "
                         f"{eta_text(pull.eta_s)}  [dim]x cancels (the download is kept)[/]")
        elif not row["installed"] and row["can_pull"]:
            part = row.get("partial_bytes") or 0
            resume = f" · {human_size(part)} downloaded, p resumes" if part else ""
            lines.append(f"not installed: [b]p[/] pulls it ({row['size_text']}){resume}")
        elif not row["installed"]:
            lines.append("not installed: [b]i[/] imports it from a file or folder")
        if row["name"] in self.book.verified:
            lines.append(f"verify: {escape(self.book.verified[row['name']])}")
        detail.update("\n".join(lines))

    def selected_name(self) -> str | None:
        table = self.query_one(DataTable)
        if not self._shown or table.cursor_row is None or table.cursor_row >= len(self._shown):
            return None
        return self._shown[table.cursor_row]

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._draw_detail()

    def select(self, name: str) -> None:
        """Put the cursor on model NAME (or an alias of it)."""
        self.select_name = name
        row = self.book.row(name)
        if row is not None and row["name"] in self._shown:
            self.query_one(DataTable).move_cursor(row=self._shown.index(row["name"]))
            self.select_name = None
            self._draw_detail()

    # -- actions --------------------------------------------------------------------------
    def _row(self) -> dict[str, Any] | None:
        name = self.selected_name()
        return self.book.rows.get(name) if name else None

    def action_pull(self) -> None:
        row = self._row()
        if row is None:
            return
        if row["installed"]:
            self.notify(f"{row['name']} is installed already (v verifies it)", timeout=3)
        elif not row["can_pull"]:
            self.notify(f"{row['name']} has no download: i imports it from a file or folder",
                        severity="warning", timeout=5)
        else:
            self.book.pull(row["name"])

    async def action_cancel_pull(self) -> None:
        row = self._row()
        if row is not None and not await self.book.cancel_pull(row["name"]):
            self.notify(f"{row['name']} is not downloading", timeout=3)

    def action_import_model(self) -> None:
        def answer(path: str | None) -> None:
            if path and path.strip():
                self.run_worker(self._import(path.strip()), group="models-import")
        self.app.push_screen(AskText(
            "Import a model: path to a checkpoint folder, prefix, .tar/.tar.gz/.zip or .mag "
            "(on the engine's machine)", placeholder="/path/to/model"), answer)

    async def _import(self, path: str) -> None:
        name = await self.book.import_path(path)
        if name is not None:
            self.select(name)

    def action_verify(self) -> None:
        row = self._row()
        if row is None:
            return
        if not row["installed"]:
            self.notify(f"{row['name']} is not installed: nothing to verify", timeout=3)
            return
        self.run_worker(self.book.verify(row["name"]), group=f"verify-{row['name']}")

    def action_remove(self) -> None:
        row = self._row()
        if row is None:
            return
        if row["shipped"]:
            self.notify(f"{row['name']} ships with magstation and cannot be removed",
                        severity="warning", timeout=4)
            return
        if not row["installed"] and not row.get("partial_bytes"):
            self.notify(f"{row['name']} is not installed", timeout=3)
            return
        what = (f"the partial download of {row['name']} ({human_size(row['partial_bytes'])})"
                if not row["installed"] else
                f"{row['name']} ({size_of(row)}) from {row['path'] or row['install_dir']}")

        def answer(yes: bool | None) -> None:
            if yes:
                self.run_worker(self.book.remove(row["name"]), group="models-remove")
        self.app.push_screen(Confirm(f"Remove {escape(what)}?"), answer)

    def action_refresh(self) -> None:
        self.run_worker(self.book.refresh(), group="models-refresh")

    def action_close(self) -> None:
        self.app.pop_screen()
