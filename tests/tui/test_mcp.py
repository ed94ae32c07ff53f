"""`recbot mcp` through the official MCP SDK's own stdio client: the real console script on
the bundled data, one warm process answering recommend, why, why_not, similar, search and
profile with films that carry their ids and reasons."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

RECBOT = Path(sys.executable).with_name("recbot")
HEAT = 6
pytestmark = pytest.mark.smoke


def _run(data_dir: Path, calls) -> list:
    """Start `recbot mcp`, run ``calls`` (an async function of the session), close it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RECBOT_", "OPENAI_"))}
    env["RECBOT_DATA_DIR"] = str(data_dir)
    params = StdioServerParameters(command=str(RECBOT), args=["mcp", "--llm", "none"], env=env)

    async def main():
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                return await calls(session)
    return asyncio.run(main())


async def _call(client: ClientSession, tool: str, **args) -> dict:
    res = await client.call_tool(tool, args)
    assert not res.is_error, res.content
    return json.loads(res.content[0].text)


async def _error(client: ClientSession, tool: str, **args) -> str:
    res = await client.call_tool(tool, args)
    assert res.is_error, res.content
    return res.content[0].text


def test_a_real_mcp_client_gets_films_with_ids_and_reasons(indexed_data_dir):
    async def calls(s: ClientSession):
        tools = {t.name: t for t in (await s.list_tools()).tools}
        first = await _call(s, "recommend", message="something like Heat")
        why = await _call(s, "why", session=first["session"], film="2")
        why_not = await _call(s, "why_not", session=first["session"], title="Titanic")
        again = await _call(s, "recommend", message="none of these", session=first["session"])
        similar = await _call(s, "similar", title="Forrest Gump", k=3)
        search = await _call(s, "search", query="a bank robbery that goes wrong", k=5)
        profile = await _call(s, "profile")
        bad = await _error(s, "recommend", message="more", session="nope")
        bad_k = await _error(s, "recommend", message="a comedy", k=0)
        return tools, first, why, why_not, again, similar, search, profile, bad, bad_k

    tools, first, why, why_not, again, similar, search, profile, bad, bad_k = \
        _run(indexed_data_dir, calls)
    assert set(tools) == {"recommend", "why", "why_not", "similar", "search", "profile"}
    assert "message" in tools["recommend"].input_schema["properties"]
    films = first["films"]
    assert len(films) == 5 and first["session"] and "Heat" in first["reply"]
    assert HEAT not in [f["id"] for f in films]
    for f in films:
        assert isinstance(f["id"], int) and f["title"] and f["year"] and f["reason"]
        assert f["imdb_id"].startswith("tt") and isinstance(f["tmdb_id"], int)
    assert films[1]["title"] in why["reply"]
    assert "Titanic" in why_not["reply"]
    assert not {f["id"] for f in films} & {f["id"] for f in again["films"]}   # the session
    assert len(similar["films"]) == 3 and all(f["reason"] for f in similar["films"])
    assert search["hits"] and all(isinstance(h["id"], int) for h in search["hits"])
    assert set(profile) == {"profile", "taste"}
    assert "no session" in bad and "between 1 and" in bad_k     # error results, one line
