"""A real browser and real HTTP servers for the console's tests: Debian's Chromium driven by
Playwright (never Playwright's own browser downloads), each node's app served by uvicorn."""

import asyncio
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from playwright.async_api import Browser, BrowserContext, Page

from services.runtime import NodeRuntime
from services.users.accounts import add_user
from services.users.model import Role
from tests.support.api import ApiNode, Clock
from tests.support.nats import free_port

CHROMIUM = Path("/usr/bin/chromium")
CJK_FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")  # Chinese pages, screenshots
PACKAGES = ("chromium", "fonts-wqy-zenhei")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def ensure_chromium() -> Path:
    """Debian's chromium and a Chinese font, installed with apt-get when missing (as `make
    browsers` does; the suites run as root)."""
    if not (CHROMIUM.exists() and CJK_FONT.exists()):
        if os.geteuid() != 0 or shutil.which("apt-get") is None:
            raise RuntimeError(f"{CHROMIUM} is missing: run `make browsers` as root")
        env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", *PACKAGES], check=True, env=env)
    return CHROMIUM


@asynccontextmanager
async def served(app: FastAPI) -> AsyncIterator[str]:
    """`app` served over HTTP on a free loopback port, in this event loop; its base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()  # raises what stopped it
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@dataclass
class ConsoleNode:
    """One node as the browser tests use it: its console URL, its API client, its users."""

    runtime: NodeRuntime
    url: str
    api: ApiNode
    tokens: dict[str, str] = field(default_factory=dict)

    async def user(self, role: Role, name: str) -> str:
        """The token of user `name`, added with `role` when first asked for."""
        if name not in self.tokens:
            node = self.runtime.node
            async with node.db.transaction() as conn:
                self.tokens[name] = await add_user(conn, name, role, node.clock())
        return self.tokens[name]


@dataclass
class Scene:
    dalang: ConsoleNode
    qianfeng: ConsoleNode
    browser: Browser
    clock: Clock

    async def signed_in(self, node: ConsoleNode, role: Role, name: str) -> Page:
        """A fresh browser context signed in to `node`'s console as `name`."""
        context: BrowserContext = await self.browser.new_context(
            accept_downloads=True, viewport={"width": 1280, "height": 900}
        )
        page = await context.new_page()
        await page.goto(f"{node.url}/console/login")
        await page.fill("#token", await node.user(role, name))
        await page.click("#sign-in")
        await page.wait_for_load_state()
        return page


async def shoot(page: Page, name: str) -> None:
    """A screenshot of the page for docs/console.md."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
