#!/usr/bin/env python3
"""Prints a chat completion request body of exactly SIZE bytes, "model" last (as
the OpenAI and Anthropic SDKs write it), for the request-size benchmarks
(bench/e2e.sh --body-size, bench/request_size.py).

  sized_body.py SIZE [--model NAME] [--stream]
"""
import argparse
import sys


def sized_body(size, model="mock-model", stream=False):
    head = '{"messages":[{"role":"user","content":"'
    tail = '"}],"max_tokens":16' + (',"stream":true' if stream else "") + ',"model":"' + model + '"}'
    fill = size - len(head) - len(tail)
    if fill < 1:
        raise ValueError(f"{size} bytes is too small for a body (at least {len(head) + len(tail) + 1})")
    return head + "x" * fill + tail


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("size", type=int)
    parser.add_argument("--model", default="mock-model")
    parser.add_argument("--stream", action="store_true")
    args = parser.parse_args()
    try:
        sys.stdout.write(sized_body(args.size, args.model, args.stream))
    except ValueError as e:
        sys.exit(f"sized_body.py: {e}")


if __name__ == "__main__":
    main()
