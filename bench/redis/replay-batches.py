#!/usr/bin/env python3
"""Replays captured record-script batches against several versions of record.lua, interleaved, and checks
that they leave Redis in the same state.

The batches are the EVALSHA lines of `redis-cli -p PORT monitor` captured while `bin/bench http` or
bench/replicas.sh ran. Each script runs in its own Redis database (script k in database k), batch by batch in
turn, so that this VM's slow and fast moments fall on every script alike, and the turn starts one script later
at each batch, so that every script takes every place in it equally (a place moves a script's time by several
per cent). Redis times each call itself: the growth of EVALSHA's `usec` in INFO commandstats across the call
(the slow log at threshold 0 would also log every command the script runs, with its arguments, and time that). A script whose name ends in `-nos.lua` is sent the batches without the starts that
RedisSessionStore.Batch leaves out (a start without an event id whose session has another event without one).
Afterwards every database must hold the same keys and values as database 0.

usage: replay-batches.py PORT MONITOR_CAPTURE ROUNDS a.lua,b.lua[,...] [MAX_RECORDS]
Each .lua is a whole script as Redis runs it (Script.load): record.lua's #!lua line, layout.lua, the rest of
record.lua (builds before that line: layout.lua, then record.lua). MAX_RECORDS, when given,
replaces the store.max.records of the captured batches (a small one keeps every session at its bound).
Uses only Python's standard library (a minimal RESP client), as the machine has no Redis module for Python.
"""
import re, socket, statistics, sys

HEADER, FIELDS = 9, 6  # RedisSessionStore.Batch


def unescape(text):  # redis-cli's quoting of MONITOR arguments
    out, i = bytearray(), 0
    while i < len(text):
        if text[i] == '\\':
            n = text[i + 1]
            if n == 'x':
                out.append(int(text[i + 2:i + 4], 16)); i += 4; continue
            out += {'n': b'\n', 'r': b'\r', 't': b'\t', 'a': b'\a', 'b': b'\b', '"': b'"', '\\': b'\\'}[n]; i += 2
            continue
        out += text[i].encode('latin-1'); i += 1
    return bytes(out)


class Redis:
    def __init__(self, port):
        self.sock = socket.create_connection(('127.0.0.1', port)); self.file = self.sock.makefile('rb')

    def __call__(self, *args):
        out = bytearray(b'*%d\r\n' % len(args))
        for a in args:
            a = a.encode() if isinstance(a, str) else a
            out += b'$%d\r\n%s\r\n' % (len(a), a)
        self.sock.sendall(out)
        return self.reply()

    def reply(self):
        line = self.file.readline(); kind, rest = line[:1], line[1:-2]
        if kind == b'-': raise RuntimeError(rest.decode())
        if kind == b'+': return rest
        if kind == b':': return int(rest)
        if kind == b'$': return None if int(rest) < 0 else self.file.read(int(rest) + 2)[:-2]
        if kind == b'*': return None if int(rest) < 0 else [self.reply() for _ in range(int(rest))]
        raise RuntimeError('unexpected reply %r' % line)


def without_carried_starts(args):
    """The batch as RedisSessionStore.Batch sends it: starts carried by another event of their session left out."""
    n = int(args[4 + 6]); events = [args[4 + HEADER + k * FIELDS:4 + HEADER + (k + 1) * FIELDS] for k in range(n)]
    carried = {e[0] for e in events if e[2] in (b'C', b'F', b'R') and e[1] == b''}
    sent, first = [], set()
    for e in events:
        if e[2] == b'S' and e[1] == b'':
            if e[0] in carried or e[0] in first: continue
            first.add(e[0])
        sent.append(e)
    out = list(args[:4 + HEADER]); out[4 + 6] = str(len(sent)).encode()
    for e in sent: out += e
    return out


def state(redis, db):
    redis('SELECT', str(db)); out = {}
    for key in redis('KEYS', '*'):
        kind = redis('TYPE', key)
        out[key] = (sorted(redis('HGETALL', key)) if kind == b'hash' else redis('LRANGE', key, '0', '-1')
                    if kind == b'list' else redis('ZRANGE', key, '0', '-1', 'WITHSCORES') if kind == b'zset'
                    else redis('GET', key))
    return out


def main(port, capture, rounds, scripts, max_records=None):
    lines = [l for l in open(capture, encoding='latin-1') if '"EVALSHA"' in l]
    batches = [[unescape(m.group(1)) for m in re.finditer(r'"((?:[^"\\]|\\.)*)"', l[l.index('] ') + 2:])][2:]
               for l in lines]
    redis = Redis(int(port)); scripts = scripts.split(',')
    redis('FLUSHALL')
    shas = [redis('SCRIPT', 'LOAD', open(p, 'rb').read()) for p in scripts]

    def evalsha_usec():  # the time Redis has spent in EVALSHA calls so far
        found = re.search(rb'cmdstat_evalsha:calls=\d+,usec=(\d+)', redis('INFO', 'commandstats'))
        return int(found.group(1)) if found else 0

    times = [[] for _ in scripts]
    for _ in range(int(rounds)):
        for b, batch in enumerate(batches):
            if max_records: batch = batch[:6] + [max_records.encode()] + batch[7:]
            for k in [(b + j) % len(scripts) for j in range(len(scripts))]:
                redis('SELECT', str(k))
                before = evalsha_usec()
                redis('EVALSHA', shas[k], *(without_carried_starts(batch) if scripts[k].endswith('-nos.lua') else batch))
                times[k].append(evalsha_usec() - before)
    first = state(redis, 0)
    for k, path in enumerate(scripts):
        t, s = times[k], state(redis, k)
        differing = len([key for key in set(first) | set(s) if first.get(key) != s.get(key)])
        print('%-24s %d batches: median %.0f µs, mean %.0f µs inside Redis; %d keys, %d differ from %s'
              % (path.split('/')[-1], len(t), statistics.median(t), statistics.mean(t), len(s), differing,
                 scripts[0].split('/')[-1]))


if __name__ == '__main__':
    if len(sys.argv) < 5: sys.exit(__doc__)
    main(*sys.argv[1:])
