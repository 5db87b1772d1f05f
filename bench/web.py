"""The web page (issue 14): time from pressing Enter to the first streamed word shown in the
page, against the API's own time to first token measured by an HTTP client on the same
server, and the page's total transferred size on a first (uncached) visit. Headless
Chromium (Debian's chromium + chromium-driver) against a `rag serve` subprocess on a fresh
copy of the news index. Prints one JSON object.

    python -m bench.web [--generator extractive|local] [--rounds 4] [--out FILE]
"""

from __future__ import annotations

import argparse
import platform
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from bench.api import build_news, first_token_ms
from bench.run import NEWS_QUESTIONS, emit
from tests.browser import chromium, wait
from tests.conftest import Server, rag_env

_PAGE_SIZE_JS = """
const nav = performance.getEntriesByType('navigation')[0];
const res = performance.getEntriesByType('resource');
return {transfer: [nav, ...res].reduce((n, e) => n + e.transferSize, 0),
        decoded: [nav, ...res].reduce((n, e) => n + e.decodedBodySize, 0),
        requests: 1 + res.length, files: [nav, ...res].map(e => e.name)};
"""
_FIRST_WORD_JS = """
const send = performance.getEntriesByName('rag:send')[0];
const first = performance.getEntriesByName('rag:first-token')[0];
return send && first ? first.startTime - send.startTime : null;
"""


def page_size(driver: WebDriver, url: str) -> dict[str, Any]:
    driver.get(url)
    wait(driver, 30).until(lambda d: d.find_element(By.TAG_NAME, "body")
                           .get_attribute("data-ready"))
    time.sleep(0.5)  # let the module graph finish
    return driver.execute_script(_PAGE_SIZE_JS)


def page_first_word_ms(driver: WebDriver, question: str) -> float:
    driver.find_element(By.ID, "new-chat").click()
    box = driver.find_element(By.ID, "question")
    box.send_keys(question)
    box.send_keys(Keys.ENTER)
    wait(driver, 600).until(lambda d: d.find_elements(By.CSS_SELECTOR,
                                                      ".turn .actions, .turn .error"))
    if errors := driver.find_elements(By.CSS_SELECTOR, ".turn .error"):
        raise RuntimeError(f"the page showed an error: {errors[0].text}")
    value = driver.execute_script(_FIRST_WORD_JS)
    if value is None:
        raise RuntimeError("the page recorded no first streamed word")
    return float(value)


def measure(generator: str, rounds: int) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="bench-web-"))
    indexes = build_news(work)
    env = rag_env(indexes, RAG_GENERATOR=generator, RAG_LOG_JSON="false",
                  RAG_LOCAL_MODEL="qwen2.5-coder-1.5b")
    server = Server(env, work / "server.log").wait_ready(600)
    questions = NEWS_QUESTIONS[1:1 + min(rounds, len(NEWS_QUESTIONS) // 2 - 1)]
    page: list[float] = []
    api: list[float] = []
    try:
        with chromium() as driver:
            size = page_size(driver, f"{server.url}/")
            page_first_word_ms(driver, NEWS_QUESTIONS[0])  # warm-up: loads the caches
            # The page and the API never ask a question asked just before: llama.cpp
            # would find the whole prompt in its cache and only decode (a 0.2 s "first
            # token"). The page takes questions from the front, the API from the back.
            for question, other in zip(questions, reversed(NEWS_QUESTIONS), strict=False):
                page.append(page_first_word_ms(driver, question))
                api.append(first_token_ms(f"{server.url}/v1/chat/completions", {
                    "model": "news", "stream": True,
                    "messages": [{"role": "user", "content": other}]}))
    finally:
        server.stop()
    return {
        "generator": generator, "rounds": len(questions),
        "page_first_word_p50_ms": round(statistics.median(page), 1),
        "page_first_word_max_ms": round(max(page), 1),
        "api_first_token_p50_ms": round(statistics.median(api), 1),
        "api_first_token_max_ms": round(max(api), 1),
        "page_minus_api_p50_ms": round(statistics.median(
            [p - a for p, a in zip(page, api, strict=True)]), 1),
        "page_transfer_bytes": size["transfer"], "page_decoded_bytes": size["decoded"],
        "page_requests": size["requests"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--generator", action="append", choices=["extractive", "local"],
                        help="repeatable (default: extractive)")
    parser.add_argument("--rounds", type=int, default=4,
                        help="questions per side, at most 4: the page and the API each "
                        "ask different news questions, never one asked just before")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    # `timeout` or Ctrl-C: leave through the finally blocks (server and browser stopped)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    result: dict[str, Any] = {"date": time.strftime("%Y-%m-%d"),
                              "machine": f"{platform.machine()}, 2 cores", "runs": [
                                  measure(g, args.rounds)
                                  for g in args.generator or ["extractive"]]}
    emit(result, args.out, indent=2)


if __name__ == "__main__":
    main()
