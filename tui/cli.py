"""The `recbot` command: the chat app with no arguments, subcommands for scripting.

Only argparse and our light modules are imported at start-up; each subcommand
imports what it needs, so `recbot --help` stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from collections.abc import Sequence

from recbot.agent.settings import Settings

EXIT_ERROR = 1
EXIT_USAGE = 2


class CommandError(Exception):
    """A user-facing failure: printed as one line, exit code 1."""


def _user_errors() -> tuple[type[BaseException], ...]:
    from recbot.agent.errors import user_errors

    return (CommandError, *user_errors())


def _console(stderr: bool = False):
    """A console for plain lines: no markup, and no escape sequence or control character
    from the data (a title, a file name, a transcript) reaches the terminal."""
    from rich.console import Console

    from recbot.agent.display import printable

    class SafeConsole(Console):
        def on_broken_pipe(self) -> None:
            # rich exits 1 here; main stops quietly with 0 instead, as cat does
            self.quiet = True
            raise BrokenPipeError

        def print(self, *objects, **kwargs) -> None:
            try:
                super().print(*(printable(o) if isinstance(o, str) else o for o in objects),
                              **kwargs)
            except BrokenPipeError:
                raise
            except OSError as exc:
                if stderr:      # nowhere left to say it: the answer itself may still go out
                    return
                raise _output_error(exc) from None

    return SafeConsole(stderr=stderr, highlight=False, markup=False)


def _output_error(exc: OSError) -> CommandError:
    return CommandError(f"cannot write to standard output ({exc.strerror or exc}); free some "
                        "space or send the output elsewhere")


def _flush_output() -> None:
    """Flush stdout inside the command, so a full disk behind ``> file`` is one line and
    exit 1 rather than a traceback at exit (a closed pipe stays quiet, as for cat)."""
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise _output_error(exc) from None


def _write_out(text: str) -> None:
    """``text`` to stdout; a failed write (a full disk behind ``> file``) is a CommandError."""
    try:
        sys.stdout.write(text)
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise _output_error(exc) from None


def _print_json(obj) -> None:
    from recbot.agent.display import json_text

    _write_out(json_text(json.dumps(obj, indent=2, ensure_ascii=False)) + "\n")


def _say_error(message: object) -> None:
    """``recbot: error: …`` on stderr, one line, nothing from the data run as escapes."""
    from recbot.agent.display import one_line

    print(f"recbot: error: {one_line(str(message))}", file=sys.stderr)


# ----- subcommands ----------------------------------------------------------------------

def cmd_eval(args, settings: Settings) -> int:
    from rich.table import Table

    from recbot.agent.compose import build_workspace
    from recbot.agent.workspace import default_eval_rankers

    ws = build_workspace(settings)
    err = _console(stderr=True)
    if args.rankers:
        rankers = [r.strip() for r in args.rankers.split(",")]
    else:
        rankers, note = default_eval_rankers(ws.interactions.n_items)
        if note:
            err.print(note)
    if args.k < 1:
        raise CommandError(f"--k must be at least 1, not {args.k}")
    with err.status("evaluating…") as status:
        def progress(result):
            status.update(f"evaluated {result.name} (NDCG@{args.k} {result.ndcg:.4f}); next…")
        results = ws.evaluate(k=args.k, seed=args.seed, rankers=rankers, on_result=progress)
    if args.json:
        _print_json({"dataset": str(ws.dataset_dir), "k": args.k, "seed": args.seed,
                     "users": results[0].n_users, "results": [r.as_dict() for r in results]})
        return 0
    k = args.k
    table = Table(title=f"Holdout evaluation, seed {args.seed}, {results[0].n_users} users "
                        f"(20% of likes held out; all unrated items ranked)")
    for col in ("ranker", f"NDCG@{k}", f"Recall@{k}", f"Precision@{k}", f"MAP@{k}",
                "coverage", "fit s"):
        table.add_column(col, justify="left" if col == "ranker" else "right")
    for r in results:
        table.add_row(r.name, f"{r.ndcg:.4f}", f"{r.recall:.4f}", f"{r.precision:.4f}",
                      f"{r.map:.4f}", f"{r.coverage:.3f}", f"{r.fit_seconds:.1f}")
    _console().print(table)
    return 0


def cmd_rank(args, settings: Settings) -> int:
    from recbot.agent.workspace import Data, rank_users

    engine = args.engine or settings.ranker_engine
    n = rank_users(args.train, args.users, args.out, k=args.k, engine=engine,
                   spark_master=args.spark_master or settings.spark_master or None,
                   links=Data(settings).links or None)
    _console(stderr=True).print(f"wrote {n} recommendations to {args.out}", soft_wrap=True)
    return 0


def cmd_title(args, settings: Settings) -> int:
    from recbot.agent.compose import build_workspace

    catalog = build_workspace(settings).catalog
    res = catalog.titles.resolve(" ".join(args.query), limit=args.limit)
    if args.json:
        _print_json({
            "best": None if res.best is None else {
                "movie_id": res.best.movie_id, "title": res.best.title, "year": res.best.year,
                "score": round(res.best.score, 4)},
            "confidence": round(res.confidence, 4), "ambiguous": res.ambiguous,
            "alternatives": [{"movie_id": m.movie_id, "title": m.title, "year": m.year,
                              "score": round(m.score, 4)} for m in res.alternatives]})
        return 0 if res.best else EXIT_ERROR
    out = _console()
    if res.best is None:
        out.print(f"no movie matches {' '.join(args.query)!r}; check the spelling")
        return EXIT_ERROR
    flag = " (ambiguous)" if res.ambiguous else ""
    out.print(f"{res.best.label()}  [id {res.best.movie_id}, confidence {res.confidence:.2f}]{flag}")
    for m in res.alternatives:
        out.print(f"  or {m.label()}  [id {m.movie_id}, score {m.score:.2f}]")
    return 0


def _resolve_or_fail(catalog, text: str):
    res = catalog.titles.resolve(text)
    if res.best is None:
        raise CommandError(f"no movie matches {text!r}; try `recbot title {text}` to see candidates")
    return res.best


def cmd_similar(args, settings: Settings) -> int:
    from recbot.agent.compose import build_workspace

    ws = build_workspace(settings)
    seed = _resolve_or_fail(ws.catalog, " ".join(args.title))
    ranker = ws.ranker("als")
    picks = ranker.similar_items(seed.movie_id, n=args.n)
    rows = []
    for c in picks:
        ex = ranker.explain([seed.movie_id], c.item_id, n=1)
        movie = ws.catalog.get(c.item_id)
        rows.append({"movie_id": c.item_id, "title": movie.title if movie else str(c.item_id),
                     "year": movie.year if movie else None, "score": round(c.score, 4),
                     "because": [x.item_id for x in ex.contributions]})
    if args.json:
        _print_json({"seed": {"movie_id": seed.movie_id, "title": seed.title, "year": seed.year},
                     "results": rows})
        return 0
    out = _console()
    out.print(f"People who loved {seed.label()} also loved:")
    for i, r in enumerate(rows, 1):
        year = f" ({r['year']})" if r["year"] else ""
        out.print(f"{i:2d}. {r['title']}{year}  [score {r['score']:.3f}]")
    return 0


def cmd_recommend(args, settings: Settings) -> int:
    from recbot.agent.compose import build_workspace

    ws = build_workspace(settings)
    ranker = ws.ranker("als")
    if args.user is not None:
        picks = ranker.recommend(args.user, n=args.n)
        explain_from = args.user
    else:
        if not args.like:
            raise CommandError("give --user ID or one or more --like TITLE")
        liked = [_resolve_or_fail(ws.catalog, t).movie_id for t in args.like]
        disliked = [_resolve_or_fail(ws.catalog, t).movie_id for t in args.dislike or []]
        picks = ranker.recommend_for_items(liked, disliked, n=args.n)
        explain_from = liked
    rows = []
    for c in picks:
        ex = ranker.explain(explain_from, c.item_id, n=2)
        movie = ws.catalog.get(c.item_id)
        because = [ws.catalog.get(x.item_id) for x in ex.contributions if x.share > 0]
        rows.append({"movie_id": c.item_id, "title": movie.title if movie else str(c.item_id),
                     "year": movie.year if movie else None, "score": round(c.score, 4),
                     "because": [{"movie_id": b.movie_id, "title": b.title} for b in because if b]})
    if args.json:
        _print_json({"results": rows})
        return 0
    out = _console()
    for i, r in enumerate(rows, 1):
        year = f" ({r['year']})" if r["year"] else ""
        why = ", ".join(b["title"] for b in r["because"])
        out.print(f"{i:2d}. {r['title']}{year}  [score {r['score']:.3f}]"
                  + (f"  — because you liked {why}" if why else ""))
    return 0


def _films(n: int) -> str:
    return f"{n} film" if n == 1 else f"{n} films"


def cmd_data(args, settings: Settings) -> int:
    from recbot.agent import workspace as datasets

    action = args.data_command
    if action == "fetch":
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        with Progress("[progress.description]{task.description}", BarColumn(), DownloadColumn(),
                      TransferSpeedColumn(), TimeRemainingColumn(),
                      console=_console(stderr=True), transient=False) as bar:
            task = bar.add_task(f"fetching {args.name}", total=None)

            def progress(done: int, total: int | None) -> None:
                bar.update(task, completed=done, total=total)

            path = datasets.fetch_dataset(settings, args.name, base_url=args.base_url,
                                          checksum=args.checksum, progress=progress)
        _console().print(f"installed {args.name} in {path}; use it with "
                         f"`recbot data use {args.name}`")
        return 0
    if action == "use":
        spec, path = datasets.use_dataset(settings, args.spec)
        _console().print(f"recbot now uses {spec} ({path})")
        return 0
    if action == "list":
        infos = datasets.list_datasets(settings, count_rows=args.count)
        if args.json:
            _print_json([{"name": i.name, "path": str(i.path), "source": i.source,
                          "movies": i.movies, "ratings": i.ratings} for i in infos])
            return 0
        out = _console()
        for i in infos:
            mark = "*" if i.name == settings.dataset or (
                settings.dataset == "builtin" and i.source == "bundled") else " "
            counts = f"  {i.movies} movies, {i.ratings} ratings" if args.count else ""
            out.print(f"{mark} {i.name:24s} {i.source:9s} {i.path}{counts}")
        out.print("fetchable: " + ", ".join(datasets.known_datasets()))
        return 0
    if action == "enrich":
        report = datasets.enrich_plots(settings, args.file, replace=args.replace)
        if args.json:
            _print_json(report.as_dict())
            return 0
        notes = []
        if report.total_stored != report.stored:
            notes.append(f"{_films(report.total_stored)} in all")
        if report.skipped:
            notes.append(report.skipped_text())
        note = f" ({'; '.join(notes)})" if notes else ""
        _console().print(f"plot text for {_films(report.stored)} stored in {report.path}{note}; "
                         f"the search index takes it in on the next start or `recbot index`",
                         soft_wrap=True)   # one line, also in a narrow terminal or a pipe
        return 0
    if action == "info":
        from recbot.agent.compose import build_workspace

        ws = build_workspace(settings)
        cat = ws.catalog
        report = cat.enrichment
        plots = ws.data.user_plot_films()
        if args.json:
            _print_json({"dataset": str(ws.dataset_dir), "movies": len(cat),
                         "ratings": ws.interactions.nnz, "users": ws.interactions.n_users,
                         "imdb": {"rows": report.total_rows, "matched": report.matched,
                                  "unmatched_reasons": report.reasons_count,
                                  "matched_by": getattr(report, "matched_by", {})},
                         "plots": {"films": plots, "path": str(settings.plots_path)}})
            return 0
        out = _console()
        out.print(f"dataset: {ws.dataset_dir}")
        out.print(f"{len(cat)} movies, {ws.interactions.nnz} ratings by "
                  f"{ws.interactions.n_users} users")
        for line in report.summary():
            out.print(line)
        out.print(f"plot text of your own: {_films(plots)}" + (
            f" ({settings.plots_path})" if plots else "; add some with `recbot data enrich FILE`"))
        if args.unmatched:
            for title, year, reason in report.unmatched:
                out.print(f"  {title} ({year}): {reason}")
        return 0
    raise CommandError(f"unknown data command {action!r}")


def _with_progress(console, label: str, build):
    """``build(progress)`` under a progress bar labelled ``label``; its result."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=console, transient=True) as bar:
        task = bar.add_task(label, total=None)
        return build(lambda done, total: bar.update(task, completed=done, total=total))


def _index_progress(ws, console):
    """Build or update the catalog index with a progress bar (a no-op when current)."""
    return _with_progress(console, "indexing the catalog", ws.build_index)


def _multilingual_progress(ws, console) -> int:
    """Embed the catalog for asks in Chinese and Spanish, with a progress bar (the first
    time: about 15 s here; afterwards only films whose text changed)."""
    return _with_progress(console, "indexing the catalog for Chinese and Spanish",
                          ws.index.build_multilingual)


def cmd_index(args, settings: Settings) -> int:
    from recbot.agent.compose import build_workspace

    ws = build_workspace(settings)
    err = _console(stderr=True)
    import time

    t = time.perf_counter()
    report = _index_progress(ws, err)
    secs = time.perf_counter() - t
    summary = {"movies": len(ws.catalog), "added": report.added, "updated": report.updated,
               "removed": report.removed, "unchanged": report.unchanged,
               "embed_model": ws.embedder.name, "seconds": round(secs, 2),
               "dropped_collections": list(report.dropped_collections)}
    if args.json:
        _print_json(summary)
    else:
        _console().print(f"catalog index ({ws.embedder.name}): {report.added} added, "
                         f"{report.updated} updated, {report.removed} removed, "
                         f"{report.unchanged} unchanged in {secs:.1f} s")
    return 0


def cmd_search(args, settings: Settings) -> int:
    from recbot.agent.compose import build_workspace

    ws = build_workspace(settings)
    query = " ".join(args.query).strip()
    if not query:
        raise CommandError("give a search query, e.g. recbot search \"they fix the spaceship\"")
    try:
        ws.genre_names(args.genre or [])   # an unknown genre fails before any indexing
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    from recbot.agent.reader.language import language

    lang = language(query)
    if lang == "en" and not ws.index_is_current():
        _index_progress(ws, _console(stderr=True))
    if lang != "en" and not ws.index.multilingual_is_current():
        _multilingual_progress(ws, _console(stderr=True))
    try:
        hits = ws.search(query, k=args.k, genres=args.genre or [], year_min=args.year_min,
                         year_max=args.year_max, lang=lang)
    except ValueError as exc:   # an unknown genre
        raise CommandError(str(exc)) from None
    if args.json:
        _print_json({"results": [h.as_dict() for h in hits]})
        return 0
    out = _console()
    if not hits:
        out.print("no matches; loosen the filters or rephrase")
    for i, h in enumerate(hits, 1):
        year = f" ({h.year})" if h.year else ""
        out.print(f"{i:2d}. {h.title}{year}  [{h.score:.3f}]")
        for e in h.evidence[:2]:
            when = f" @ {_clock(e.start)}-{_clock(e.end)}" if e.start is not None else ""
            text = e.text if len(e.text) <= 160 else e.text[:157] + "…"
            out.print(f"      {e.kind}{when}: {text}")
    return 0


def _clock(seconds: float | None) -> str:
    s = int(seconds or 0)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def cmd_transcribe(args, settings: Settings) -> int:
    from recbot.agent.compose import build_workspace

    transcriber = build_workspace(settings).transcriber(args.model, args.language)
    from recbot.agent.display import one_line

    with _console(stderr=True).status(one_line(f"transcribing {args.file} with "
                                               f"{transcriber.name}…")):
        transcript = transcriber.transcribe(args.file)
    if args.json:
        _print_json(transcript.as_dict())
    else:
        from recbot.agent.display import printable

        _write_out(printable(transcript.text.strip()) + "\n")
    return 0


def cmd_ingest(args, settings: Settings) -> int:
    from recbot.agent.compose import build_workspace

    if args.model:
        settings = settings.with_(whisper_model=args.model)
    if args.language:
        settings = settings.with_(whisper_language=args.language)
    from recbot.agent.workspace.data import set_aside_damaged_ledger

    # a damaged ledger is kept (renamed), never deleted; this run starts a new one
    if aside := set_aside_damaged_ledger(settings):
        print(f"recbot: note: the ingest ledger {settings.ledger_path} was damaged "
              f"({aside[1]}); moved it to {aside[0].name} and started a new one: files "
              "ingested before are searchable again once you ingest them again",
              file=sys.stderr)
    ws = build_workspace(settings)
    err = _console(stderr=True)
    from recbot.agent.display import one_line

    with err.status("ingesting…") as status:
        def on_file(path, state):
            if state == "start":
                status.update(one_line(f"ingesting {path.name}…"))
        report = ws.ingest(args.paths, item_id=args.item_id, on_file=on_file)
    if report.ingested and not args.no_index and ws.store.count("catalog") > 0:
        _index_progress(ws, err)  # new items of the user's own become searchable by title too
    if args.json:
        _print_json(report.as_dict())
    else:
        from rich.table import Table

        from recbot.agent.explain.cards import sound_picture_line

        out = _console()
        if report.ingested or report.unchanged:
            table = Table(title="ingested")
            for col in ("file", "movie", "linked by", "windows", "sound and picture", "status"):
                table.add_column(col)
            videos = {v.path: v for v in ws.data.videos.values()}
            for e, state in [(e, "new") for e in report.ingested] + \
                    [(e, "unchanged") for e in report.unchanged]:
                year = f" ({e['year']})" if e.get("year") else ""
                video = videos.get(e["path"])
                looks = sound_picture_line({"sound_picture": video.descriptors.as_dict()}) \
                    if video is not None and video.descriptors is not None else ""
                table.add_row(one_line(e["path"]), one_line(f"{e['title']}{year} [{e['movie_id']}]"),
                              e["linked_by"], str(e["windows"]), looks or "-", state)
            out.print(table)
        for e in report.ingested:
            if e.get("warning"):
                kept = "; its speech is searchable" if e.get("windows") else ""
                print(one_line(f"recbot: note: {e['path']}: {e['warning']}{kept}"),
                      file=sys.stderr)
        for f in report.failed:  # one line each, never wrapped: easy to read and to grep
            print(one_line(f"recbot: failed: {f['path']}: {f['error']}"), file=sys.stderr)
        if report.failed:
            print(f"recbot: {len(report.failed)} file(s) failed; the others were ingested",
                  file=sys.stderr)
    return EXIT_ERROR if report.failed else 0


def cmd_sessions(args, settings: Settings) -> int:
    """Past sessions, newest first: id, when, how many turns, and the last thing said."""
    import datetime

    from recbot.agent.memory import Memory

    if args.n < 1:
        raise CommandError(f"-n must be at least 1, not {args.n}")
    memory = Memory(settings.sessions_path)
    rows = []
    for sid, updated, turns in memory.sessions()[:args.n]:
        said = memory.said(sid, limit=1) if turns else []
        rows.append({"session": sid, "updated": updated, "turns": turns,
                     "last": said[-1] if said else ""})
    if args.json:
        _print_json(rows)
        return 0
    from recbot.agent.display import one_line

    if not rows:
        print("no sessions yet: `recbot` or `recbot ask ...` starts one")
    for r in rows:
        try:
            when = datetime.datetime.fromtimestamp(float(r["updated"])).strftime("%Y-%m-%d %H:%M")
        except (TypeError, ValueError, OverflowError, OSError):   # a damaged row
            when = "?"
        turns = r["turns"] if isinstance(r["turns"], int) else 0
        print(one_line(f"{r['session']}  {when}  {turns:>3} turn{'' if turns == 1 else 's'}  "
                       f"{str(r['last'])[:60]}"))
    return 0


def cmd_completion(args, settings: Settings) -> int:
    """A completion script for the shell, built from the parser: commands and options."""
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    commands = sorted(sub.choices)
    options = {name: sorted(o for a in p._actions for o in a.option_strings if o.startswith("--"))
               for name, p in sub.choices.items()}
    top = sorted(o for a in parser._actions for o in a.option_strings if o.startswith("--"))
    # global options that take a value: the word after one is no command (--data-dir DIR)
    valued = sorted(o for a in parser._actions if a.option_strings and a.nargs != 0
                    for o in a.option_strings)
    cases = "\n".join(f'        {name}) opts="{" ".join(opts)}" ;;' for name, opts in
                      sorted(options.items()))
    script = f"""# recbot completion ({args.shell}): eval "$(recbot completion {args.shell})"
_recbot() {{
    local cur cmd opts skip w
    cur="${{COMP_WORDS[COMP_CWORD]}}"
    cmd=""
    skip=0
    for w in "${{COMP_WORDS[@]:1:COMP_CWORD-1}}"; do
        if [ "$skip" = 1 ]; then skip=0; continue; fi
        case "$w" in
            {"|".join(valued)}) skip=1 ;;
            -*) ;;
            *) cmd="$w"; break ;;
        esac
    done
    if [ -z "$cmd" ]; then
        COMPREPLY=( $(compgen -W "{" ".join(commands)} {" ".join(top)}" -- "$cur") )
        return
    fi
    case "$cmd" in
{cases}
        *) opts="" ;;
    esac
    if [[ "$cur" == -* ]]; then
        COMPREPLY=( $(compgen -W "$opts" -- "$cur") )
    else
        COMPREPLY=( $(compgen -f -- "$cur") )
    fi
}}
"""
    if args.shell == "zsh":
        script += "autoload -U +X bashcompinit && bashcompinit\n"
    script += "complete -o default -F _recbot recbot\n"
    sys.stdout.write(script)
    return 0


def cmd_mcp(args, settings: Settings) -> int:
    """An MCP server over stdio (tui/mcp_server.py); stdout carries the protocol only."""
    try:
        import mcp.server.mcpserver  # noqa: F401
    except ImportError as exc:     # an install without the SDK (or mcp 1.x)
        raise CommandError(f"recbot mcp needs the MCP SDK 2 ({exc}); pip install 'mcp>=2,<3'") \
            from None
    from recbot.tui.mcp_server import serve

    return serve(settings, args.llm or getattr(args, "llm_global", None))


def cmd_ask(args, settings: Settings) -> int:
    import gc

    # One turn, then the process ends: the cyclic collector would only walk the catalog
    # and models again and again while they load (~0.1 s of a ~0.8 s turn).
    gc.disable()
    from recbot.agent.compose import build_agent
    from recbot.agent.reader.intent import InputError, clean_message

    text = " ".join(args.text)
    if args.text == ["-"]:      # the message from stdin: `echo "something like Heat" | recbot ask -`
        text = sys.stdin.read()
    try:
        clean_message(text)
    except InputError as exc:
        _say_error(exc)
        return EXIT_USAGE
    if args.k is not None and not 1 <= args.k <= 20:
        raise CommandError(f"--k must be between 1 and 20, not {args.k}")
    agent = build_agent(settings, args.llm or getattr(args, "llm_global", None))
    if args.continue_:
        if args.session:
            raise CommandError("give --session ID or --continue, not both")
        latest = agent.memory.sessions()
        if not latest:
            raise CommandError("no session to continue yet; leave out --continue to start one")
        args.session = latest[0][0]
    if args.session and not agent.memory.exists(args.session):
        raise CommandError(f"no session {args.session!r}; leave out --session to start one "
                           "(the reply tells its id)")
    err = _console(stderr=True)
    ws = agent.ws
    if not ws.index_is_current():
        if ws.settings.chroma_dir.is_dir() or ws.settings.chroma_url:   # (plot text added...)
            err.print("updating the search index: films whose text changed are embedded again")
        else:
            err.print(f"first run: indexing {len(ws.catalog)} movies for semantic search")
        _index_progress(ws, err)
    else:
        # nothing but the turn was written (and committed): the process may end without
        # the interpreter's teardown (see ``run``)
        _leave_quickly(args)
    from recbot.agent.reader.language import language

    if language(text) in ("zh", "es") and not ws.index.multilingual_is_current():
        _multilingual_progress(ws, err)     # the first ask in Chinese or Spanish
    answer = agent.ask(text, args.session, k=args.k, user_id=args.user)
    for note in agent.memory.take_notes():   # a session set aside, a turn not saved
        err.print(f"recbot: note: {note}", soft_wrap=True)
    for e in answer.trace.errors:
        err.print(f"recbot: note: the LLM failed ({e}); answered without it")
    if args.json:
        got = answer.as_dict()
        for r in got.get("recommendations", []):      # IMDb and TMDB ids, where known
            r.update(ws.data.external_ids(r["movie_id"]))
        _print_json(got)
        return 0
    out = _console()
    out.print(answer.reply)
    from recbot.agent.explain.cards import card_genres, card_line

    for i, r in enumerate(answer.recommendations, 1):
        genres = card_genres(r.genres, r.info)
        out.print(f"{i:2d}. {r.title}  [{genres}]" if genres else f"{i:2d}. {r.title}",
                  markup=False)
        if line := card_line(r.info or {"year": r.year}):
            out.print(f"      {line}")
        if r.info.get("line"):
            out.print(f"      {r.info['line']}")
        out.print(f"      → {r.explanation}")
    llm = answer.llm
    who = "no LLM" if llm["backend"] == "none" else \
        f"{llm['backend']}: {llm['model'] or 'model unknown'}"
    out.print(f"(session {answer.session}; {who}; continue with --session {answer.session})")
    return 0


def cmd_profile(args, settings: Settings) -> int:
    """The profile is what you put there on purpose; chat turns only touch their session."""
    from recbot.agent.memory import Memory
    from recbot.agent.compose import build_workspace

    ws = build_workspace(settings)
    catalog = ws.catalog
    edits: dict[int, str] = {}
    forget: list[int] = []
    for kind in ("like", "dislike", "seen", "forget"):
        for title in getattr(args, kind) or []:
            movie = _resolve_or_fail(catalog, title)   # every title checked before any write
            if kind == "forget":
                forget.append(movie.movie_id)
            else:
                edits[movie.movie_id] = kind
    memory = Memory(settings.sessions_path)
    if edits:
        memory.add_feedback(None, edits)
    if forget:
        memory.forget(forget)
    profile = memory.profile()
    rows = [{"movie_id": m, "title": catalog[m].label() if m in catalog else str(m), "kind": k}
            for m, k in sorted(profile.items(), key=lambda mk: (mk[1], mk[0]))]
    if args.json:
        _print_json({"profile": rows})
        return 0
    out = _console()
    if not rows:
        out.print("Your profile is empty; add films with --like/--dislike/--seen TITLE, "
                  "or `recbot import ratings FILE`.")
    for kind, label in (("like", "Liked"), ("dislike", "Not for you"), ("seen", "Seen")):
        names = [r["title"] for r in rows if r["kind"] == kind]
        if names:
            more = f" and {len(names) - 30} more" if len(names) > 30 else ""
            out.print(f"{label}: {', '.join(names[:30])}{more}")
    from recbot.agent.explain.cards import taste, taste_lines

    for line in taste_lines(taste(profile, catalog, memory.ratings())):
        out.print(line)
    return 0


def cmd_import(args, settings: Settings) -> int:
    """Ratings from Letterboxd, IMDb or a MovieLens-format CSV into the profile, atomically."""
    from recbot.agent.importer import read_ratings
    from recbot.agent.memory import Memory
    from recbot.agent.compose import build_workspace

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    catalog = build_workspace(settings).catalog
    with Progress("[progress.description]{task.description}", BarColumn(), MofNCompleteColumn(),
                  TimeRemainingColumn(), console=_console(stderr=True), transient=True) as bar:
        task = bar.add_task("reading the ratings (lines)", total=None)
        report = read_ratings(Path(args.file), catalog, user=args.user,   # nothing stored yet
                              progress=lambda done, total: bar.update(task, completed=done,
                                                                      total=total))
    Memory(settings.sessions_path).import_ratings(report.ratings, report.format)
    if args.json:
        _print_json(report.as_dict())
    else:
        _console().print(report.summary())
    return 0


def cmd_export(args, settings: Settings) -> int:
    """The last list of a session and the profile, as JSON or CSV (file or stdout)."""
    from recbot.agent.memory import Memory
    from recbot.agent.service import ExportError, export_data, export_format, render_export, \
        write_export
    from recbot.agent.compose import build_workspace

    out = None if args.out in (None, "-") else Path(args.out).expanduser()
    try:
        fmt = export_format(out, args.format)
    except ExportError as exc:
        raise CommandError(str(exc)) from None
    memory = Memory(settings.sessions_path)
    sid = args.session
    if sid is not None and not memory.exists(sid):
        raise CommandError(f"no session {sid!r}; leave out --session to export the latest list")
    if sid is None:
        sid = memory.latest_with_list()
    ws = build_workspace(settings)
    data = export_data(memory, ws.catalog, sid, ws.data.external_ids)
    for note in memory.take_notes():          # a damaged list, left out
        _console(stderr=True).print(f"recbot: note: {note}", soft_wrap=True)
    if out is None:
        _write_out(render_export(data, fmt))
        return 0
    try:
        write_export(data, out, fmt)
    except ExportError as exc:
        raise CommandError(str(exc)) from None
    n = len(data["recommendations"])
    _console(stderr=True).print(f"exported {n} film{'' if n == 1 else 's'} and the profile "
                                f"to {out} ({fmt})")
    return 0


def cmd_chat(args, settings: Settings) -> int:
    """The Textual chat; a first run prepares the index and model inside it, with progress."""
    from recbot.agent.llm import BACKENDS

    if not sys.stdout.isatty() or not sys.stdin.isatty():
        raise CommandError("the chat needs a terminal; for scripts use `recbot ask TEXT` "
                           "(see recbot --help)")
    choice = getattr(args, "llm_global", None)
    if choice is not None and choice not in BACKENDS:
        raise CommandError(f"--llm must be one of {', '.join(BACKENDS)}")
    from recbot.agent.service import ChatService
    from recbot.tui.app import RecbotApp

    RecbotApp(ChatService(settings, choice)).run()
    return 0


# ----- parser ---------------------------------------------------------------------------

def _version() -> str:
    from recbot import __version__

    return __version__


class _VersionAction(argparse.Action):
    """--version, looked up only when asked for (reading package metadata is not free)."""

    def __init__(self, option_strings, dest, **kwargs) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="show the version and exit")

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        try:
            _write_out(f"recbot {_version()}\n")
            _flush_output()
        except CommandError as exc:
            _say_error(exc)
            parser.exit(EXIT_ERROR)
        except BrokenPipeError:
            pass
        parser.exit()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="recbot",
        description="A conversational movie recommender for the terminal. "
                    "Run with no command to chat; the commands below are for scripting.")
    p.add_argument("--version", action=_VersionAction)
    p.add_argument("-v", "--verbose", action="store_true",
                   help="log what recbot does (INFO) to stderr and debug detail to the log "
                        "file (default: warnings only; the log file is in the platform's "
                        "user log dir, env RECBOT_LOG_DIR)")
    p.add_argument("--data-dir", help="where recbot keeps its state (default: the platform's "
                                      "user data dir; env RECBOT_DATA_DIR)")
    p.add_argument("--dataset", help="ratings/catalog to use: builtin, a fetched name, a "
                                     "directory or a zip (env RECBOT_DATASET)")
    p.add_argument("--chroma-url", help="use a Chroma server (http://127.0.0.1:8000) instead of "
                                        "the local store (env RECBOT_CHROMA_URL)")
    p.add_argument("--chroma-tenant", help="tenant on that server (default default_tenant; env "
                                           "RECBOT_CHROMA_TENANT). Its token, if it asks for "
                                           "one: env RECBOT_CHROMA_TOKEN or the config file")
    p.add_argument("--chroma-database", help="database in that tenant (default "
                                             "default_database; env RECBOT_CHROMA_DATABASE)")
    p.add_argument("--llm", dest="llm_global", choices=["openai", "local", "none"],
                   help="LLM backend for the chat (default: openai if OPENAI_BASE_URL or "
                        "RECBOT_LLM_BASE_URL is set, else none; env RECBOT_LLM)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    e = sub.add_parser("eval", help="offline evaluation of the MF ranker against baselines")
    e.add_argument("--k", type=int, default=10, help="cut-off (default 10)")
    e.add_argument("--seed", type=int, default=0, help="seed of the random holdout (default 0)")
    e.add_argument("--rankers", help="comma-separated subset of als,ease,itemknn,pop")
    e.add_argument("--json", action="store_true", help="machine-readable output")
    e.set_defaults(func=cmd_eval)

    r = sub.add_parser("rank", help="batch top-k for listed users, trained on a ratings file")
    r.add_argument("--train", required=True, help="ratings CSV: userId,movieId,rating,timestamp "
                                                  "(or Parquet with those columns: .parquet)")
    r.add_argument("--users", help="text file, one userId per line (default: every user)")
    r.add_argument("--engine", choices=["implicit", "spark"],
                   help="who trains and ranks: implicit (in-process, the default) or spark "
                        "(Spark MLlib ALS; pip install 'recbot[spark]'; env "
                        "RECBOT_RANKER_ENGINE)")
    r.add_argument("--spark-master", help="for --engine spark: local[*] (default), "
                                          "spark://host:7077, yarn, k8s://… or Spark Connect "
                                          "sc://host:15002 (env RECBOT_SPARK_MASTER)")
    r.add_argument("--k", type=int, default=10, help="items per user (default 10)")
    r.add_argument("--out", required=True, help="output CSV: userId,movieId,rank,score,imdbId,"
                                                "tmdbId (the ids from the dataset's links.csv)")
    r.set_defaults(func=cmd_rank)

    t = sub.add_parser("title", help="resolve a (misspelt) title to catalog movies")
    t.add_argument("query", nargs="+")
    t.add_argument("--limit", type=int, default=5)
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=cmd_title)

    s = sub.add_parser("similar", help="movies that fans of a title also loved (MF)")
    s.add_argument("title", nargs="+")
    s.add_argument("-n", type=int, default=10)
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_similar)

    rc = sub.add_parser("recommend", help="MF recommendations for a MovieLens user or liked titles")
    rc.add_argument("--user", type=int, help="a MovieLens userId from the ratings")
    rc.add_argument("--like", action="append", metavar="TITLE", help="a title you liked (repeat)")
    rc.add_argument("--dislike", action="append", metavar="TITLE", help="a title you disliked")
    rc.add_argument("-n", type=int, default=10)
    rc.add_argument("--json", action="store_true")
    rc.set_defaults(func=cmd_recommend)

    a = sub.add_parser("ask", help="one chat turn without the TUI (for scripts)")
    a.add_argument("text", nargs="+", help='what you want, e.g. "something like Heat"; '
                                          '"-" reads it from stdin')
    a.add_argument("--session", help="continue this session (its id is in every reply)")
    a.add_argument("--continue", "-c", dest="continue_", action="store_true",
                   help="continue the latest session")
    a.add_argument("--llm", choices=["openai", "local", "none"],
                   help="LLM backend (default: openai if OPENAI_BASE_URL or "
                        "RECBOT_LLM_BASE_URL is set, else none)")
    a.add_argument("--k", type=int, help="number of recommendations (default 5)")
    a.add_argument("--user", type=int, help="personalise for a MovieLens userId")
    a.add_argument("--json", action="store_true",
                   help='print {"reply", "recommendations", "resolved", "llm", "session"}')
    a.set_defaults(func=cmd_ask)

    ss = sub.add_parser("sessions", help="list past chat sessions, newest first")
    ss.add_argument("--json", action="store_true",
                    help='print [{"session", "updated", "turns", "last"}]')
    ss.add_argument("-n", type=int, default=20, help="how many (default 20)")
    ss.set_defaults(func=cmd_sessions)

    co = sub.add_parser("completion", help="print a shell completion script: "
                                           'eval "$(recbot completion bash)"')
    co.add_argument("shell", choices=["bash", "zsh"])
    co.set_defaults(func=cmd_completion)

    mc = sub.add_parser("mcp", help="serve recbot to other agents over MCP (stdio): "
                                    "recommend, why, why_not, similar, search, profile")
    mc.add_argument("--llm", choices=["openai", "local", "none"],
                    help="LLM backend (default: as for the chat)")
    mc.set_defaults(func=cmd_mcp)

    pr = sub.add_parser("profile", help="show or edit your taste profile (what every session "
                                        "knows: likes, dislikes, seen)")
    for flag, what in (("like", "a film you like"), ("dislike", "a film that is not for you"),
                       ("seen", "a film you have seen"), ("forget", "take a film out again")):
        pr.add_argument(f"--{flag}", action="append", metavar="TITLE", help=f"{what} (repeat)")
    pr.add_argument("--json", action="store_true")
    pr.set_defaults(func=cmd_profile)

    im = sub.add_parser("import", help="bring your ratings from Letterboxd, IMDb or a "
                                       "MovieLens-format CSV into your profile")
    isub = im.add_subparsers(dest="import_what", metavar="WHAT", required=True)
    ir = isub.add_parser("ratings", help="a ratings CSV export (Letterboxd ratings.csv, IMDb "
                                         "ratings.csv, MovieLens userId,movieId,rating)")
    ir.add_argument("file")
    ir.add_argument("--user", type=int, help="the user to take from a MovieLens file of many")
    ir.add_argument("--json", action="store_true")
    ir.set_defaults(func=cmd_import)

    ex = sub.add_parser("export", help="write the last recommendation list and your profile "
                                       "as JSON or CSV",
                        description="JSON: {session, ask, recommendations: [{rank, movie_id, "
                                    "title, year, reason}], profile: {likes, dislikes, seen}}. "
                                    "CSV: columns section,rank,movie_id,title,year,reason, "
                                    "section being recommendation, like, dislike or seen.")
    ex.add_argument("--session", help="the session to export (default: the latest one that "
                                      "showed a list)")
    ex.add_argument("--format", choices=["csv", "json"],
                    help="default: from the --out suffix (.csv, .json), else json")
    ex.add_argument("--out", metavar="FILE", help="write here, atomically (default: stdout)")
    ex.set_defaults(func=cmd_export)

    ix = sub.add_parser("index", help="build or update the semantic catalog index")
    ix.add_argument("--json", action="store_true")
    ix.set_defaults(func=cmd_index)

    se = sub.add_parser("search", help="semantic search over the catalog and ingested transcripts")
    se.add_argument("query", nargs="+")
    se.add_argument("--k", type=int, default=10, help="results (default 10)")
    se.add_argument("--genre", action="append", help="required genre (repeat for several)")
    se.add_argument("--year-min", type=int, help="earliest release year")
    se.add_argument("--year-max", type=int, help="latest release year")
    se.add_argument("--json", action="store_true")
    se.set_defaults(func=cmd_search)

    tr = sub.add_parser("transcribe", help="transcribe the speech in a video or audio file")
    tr.add_argument("file")
    tr.add_argument("--model", help="Whisper size name (cached) or CTranslate2 model directory")
    tr.add_argument("--language", help="the speech's language (en, es, zh, ...); default: "
                    "detected (English through tiny.en, the rest through Whisper base)")
    tr.add_argument("--json", action="store_true",
                    help='print {"text", "language", "language_probability", "duration", '
                         '"segments", "model"}')
    tr.set_defaults(func=cmd_transcribe)

    ing = sub.add_parser("ingest", help="transcribe, link and index video/audio files")
    ing.add_argument("paths", nargs="+", metavar="PATH", help="files or directories (recursive)")
    ing.add_argument("--item-id", type=int, help="link every file to this catalog movieId")
    ing.add_argument("--model", help="Whisper size name (cached) or CTranslate2 model directory")
    ing.add_argument("--language", help="the speech's language (en, es, zh, ...); default: "
                     "detected per file")
    ing.add_argument("--no-index", action="store_true", help="do not update the catalog index")
    ing.add_argument("--json", action="store_true")
    ing.set_defaults(func=cmd_ingest)

    d = sub.add_parser("data", help="datasets: fetch, list, use, info, enrich")
    dsub = d.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    f = dsub.add_parser("fetch", help="download a GroupLens MovieLens set (resumable, verified)")
    f.add_argument("name", help="ml-latest-small, ml-latest, ml-25m, ml-32m or ml-20m")
    f.add_argument("--base-url", help="mirror to download from (env RECBOT_DATASETS_URL)")
    f.add_argument("--checksum", help="expected md5 or sha256 when the mirror has no .md5 file")
    dl = dsub.add_parser("list", help="datasets available here")
    dl.add_argument("--count", action="store_true", help="count movies and ratings")
    dl.add_argument("--json", action="store_true")
    du = dsub.add_parser("use", help="make a dataset the default (name, directory or zip)")
    du.add_argument("spec")
    di = dsub.add_parser("info", help="the active dataset, its IMDb enrichment report and "
                                      "how many films have plot text of yours")
    di.add_argument("--unmatched", action="store_true", help="list IMDb rows that did not match")
    di.add_argument("--json", action="store_true")
    de = dsub.add_parser("enrich", help="add plot text you may use: a CSV keyed by movieId or "
                                        "imdbId, with a plot (overview, description, summary) "
                                        "column")
    de.add_argument("file", help="UTF-8 CSV, e.g. imdbId,plot rows like tt0114709,\"A cowboy "
                                 "doll...\"")
    de.add_argument("--replace", action="store_true",
                    help="drop the plot text stored before (default: new rows replace only "
                         "the same films' text)")
    de.add_argument("--json", action="store_true",
                    help='print {"stored", "total_stored", "skipped", "path"}')
    d.set_defaults(func=cmd_data)
    return p


def main(argv: Sequence[str] | None = None, *, _args=None) -> int:
    import os

    # Models load from packages or paths the user gives, never from a hub; and the
    # libraries' own progress bars would only clutter ours.
    for var, value in (("HF_HUB_OFFLINE", "1"), ("TRANSFORMERS_OFFLINE", "1"),
                       ("HF_HUB_DISABLE_PROGRESS_BARS", "1"), ("TRANSFORMERS_VERBOSITY", "error"),
                       ("TOKENIZERS_PARALLELISM", "false")):
        os.environ.setdefault(var, value)
    parser = build_parser()
    args = parser.parse_args(argv, namespace=_args)
    try:
        settings = Settings.load(data_dir=args.data_dir, dataset=args.dataset,
                                 chroma_url=args.chroma_url, chroma_tenant=args.chroma_tenant,
                                 chroma_database=args.chroma_database)
    except ValueError as exc:     # a bad config file or RECBOT_* value: say which, and why
        _say_error(exc)
        return EXIT_USAGE
    from recbot.tui.logs import LogFileError, setup

    try:
        # the chat keeps the terminal for itself: its warnings go to the log file only
        setup(args.verbose, console=getattr(args, "func", None) is not None)
    except LogFileError as exc:
        _say_error(exc)
        return EXIT_USAGE
    import logging
    import time

    log = logging.getLogger("recbot")
    func = getattr(args, "func", cmd_chat)
    started = time.perf_counter()
    log.info("%s (data %s, config %s)", args.command or "chat",
             settings.data_dir, settings.config_path)
    try:
        code = func(args, settings)
        _flush_output()
        log.info("%s exited %s after %.2f s", args.command or "chat", code,
                 time.perf_counter() - started)
        return code
    except KeyboardInterrupt:
        print("recbot: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`recbot ask … | head -1`): stop quietly, as cat does
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:
        if isinstance(exc, _user_errors()):
            log.info("%s failed: %s", args.command or "chat", exc)
            _say_error(exc)
            return EXIT_ERROR
        # to the log file (the traceback follows on stderr anyway)
        log.info("%s crashed", args.command or "chat", exc_info=True)
        raise


def _leave_quickly(args) -> None:
    """Mark this command as one whose process may skip the interpreter's teardown."""
    args.leave_quickly = True


def run(argv: Sequence[str] | None = None) -> None:
    """The ``recbot`` console script (and ``python -m recbot``): :func:`main`, then exit.

    A scripted turn has written what it writes (the session's turn, committed) before its
    answer is printed. Tearing the interpreter down after that (every module, the catalog's
    objects, the embedding session's buffers, one by one) costs 0.1-0.3 s of a ~1 s
    `recbot ask`, so such a command ends with ``os._exit`` once the exit handlers have run
    (logging's flush among them) and the output is flushed. Every other command — the
    chat, index builds, imports — ends the usual way."""
    import argparse

    args = argparse.Namespace()
    code = main(argv, _args=args)
    if not getattr(args, "leave_quickly", False):
        sys.exit(code)
    import atexit
    import os

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):    # (main flushed the answer and said if it failed)
        try:
            stream.flush()
        except OSError:
            pass
    os._exit(code)


if __name__ == "__main__":
    run()
