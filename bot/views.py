"""Previous/Next buttons that page through embeds (passages, a recap); only the asker turns pages."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import discord

from bot.client import StoryBot, tell, user_message
from bot.formatting import send_kwargs

log = logging.getLogger("storybot.bot")


class AnswerPages(discord.ui.View):
    """A view over pre-built pages (embeds); the buttons disable themselves at either end."""

    def __init__(self, pages: Sequence[discord.Embed], *, owner: int, timeout: float):
        super().__init__(timeout=timeout)
        self.pages = list(pages)
        self.owner = owner
        self.index = 0
        self.message: discord.Message | discord.WebhookMessage | None = None
        self._sync_buttons()

    def _sync_buttons(self) -> None:
        self.previous.disabled = self.index == 0
        self.next.disabled = self.index >= len(self.pages) - 1

    async def interaction_check(self, interaction: discord.Interaction[Any]) -> bool:
        """Let only the reader who asked turn the pages."""
        if interaction.user.id == self.owner:
            return True
        await tell(interaction, "Only the reader who asked can turn these pages; ask your own with /ask.")
        return False

    async def _show(self, interaction: discord.Interaction[StoryBot], step: int) -> None:
        self.index = max(0, min(self.index + step, len(self.pages) - 1))
        self._sync_buttons()
        await interaction.response.edit_message(embed=self.pages[self.index], view=self, **send_kwargs())

    @discord.ui.button(label="Previous", style=discord.ButtonStyle.secondary)
    async def previous(
        self, interaction: discord.Interaction[StoryBot], button: discord.ui.Button[Any]
    ) -> None:
        """Show the previous passage."""
        await self._show(interaction, -1)

    @discord.ui.button(label="Next", style=discord.ButtonStyle.primary)
    async def next(self, interaction: discord.Interaction[StoryBot], button: discord.ui.Button[Any]) -> None:
        """Show the next passage."""
        await self._show(interaction, +1)

    async def on_timeout(self) -> None:
        """Remove the buttons once they stop working, so nobody clicks a dead button."""
        if self.message is None:
            return
        try:
            await self.message.edit(view=None, **send_kwargs())
        except discord.HTTPException:
            log.debug("could not remove the page buttons of message %s", self.message.id)

    async def on_error(
        self, interaction: discord.Interaction[Any], error: Exception, item: discord.ui.Item[Any]
    ) -> None:
        """Same treatment as a slash command's error: a short message, the traceback to the log."""
        log.error("page button failed", exc_info=error)
        await tell(interaction, user_message(error))
