#!/usr/bin/env python3
"""Replays captured record-script batches against several versions of record.lua, interleaved, and checks
that they leave Redis in the same state.

The batches are the EVALSHA lines of `redis-cli -p PORT monitor` captured while `bin/bench http` or
bench/replicas.sh ran. Each script runs in its own Redis database (script k in database k), batch by batch in
turn, so that this VM's slow and fast moments fall on every script alike, and the turn starts one script later
at each batch, so that every script takes every place in it equally (a place moves a script's time by several
per cent). Redis times each call itself: the growth of EVALSHA's `usec` in INFO commandstats across the call
(the slow log at threshold 0 would also log every command the script runs, with its arguments, and time that);
with REDIS_PID set to the pid of that redis-server, the CPU time its main thread ran across the call instead
(/proc/PID/task/PID/schedstat), which leaves out the time a busy machine kept Redis waiting for a core. Each
script after the first is also given the median and mean of its differences from the first, batch by batch. A
script given as `x.lua@CAPTURE` is sent the batches of that capture instead, in the same turns (a version whose
batches differ, captured from its own build), and its database is not compared. Afterwards every other database
must hold the same keys and values as database 0.

usage: replay-batches.py PORT MONITOR_CAPTURE ROUNDS a.lua,b.lua[,...] [MAX_RECORDS]
Each .lua is a whole script as Redis runs it (Script.load): record.lua's #!lua line, layout.lua, the rest of
record.lua (builds before that line: layout.lua, then record.lua). MAX_RECORDS, when given,
replaces the store.max.records of the captured batches (a small one keeps every session at its bound).
Uses only Python's standard library (a minimal RESP client), as the machine has no Redis module for Python.
"""
import os, re, socket, statistics, sys


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


def argv(args):  # where ARGV[1] is among EVALSHA's arguments after the digest: after the number of keys and the keys
    return 1 + int(args[0])


def state(redis, db):
    redis('SELECT', str(db)); out = {}
    for key in redis('KEYS', '*'):
        kind = redis('TYPE', key)
        out[key] = (sorted(redis('HGETALL', key)) if kind == b'hash' else redis('LRANGE', key, '0', '-1')
                    if kind == b'list' else redis('ZRANGE', key, '0', '-1', 'WITHSCORES') if kind == b'zset'
                    else redis('GET', key))
    return out


def batches_of(capture):
    lines = [l for l in open(capture, encoding='latin-1') if '"EVALSHA"' in l]
    return [[unescape(m.group(1)) for m in re.finditer(r'"((?:[^"\\]|\\.)*)"', l[l.index('] ') + 2:])][2:]
            for l in lines]


def main(port, capture, rounds, scripts, max_records=None):
    batches = batches_of(capture)
    scripts = [p.split('@', 1) for p in scripts.split(',')]
    own = [batches_of(p[1]) if len(p) > 1 else None for p in scripts]
    scripts = [p[0] for p in scripts]
    redis = Redis(int(port))
    redis('FLUSHALL')
    shas = [redis('SCRIPT', 'LOAD', open(p, 'rb').read()) for p in scripts]

    def evalsha_usec():  # the time Redis has spent in EVALSHA calls so far
        found = re.search(rb'cmdstat_evalsha:calls=\d+,usec=(\d+)', redis('INFO', 'commandstats'))
        return int(found.group(1)) if found else 0

    def cpu_usec():  # the CPU time Redis's main thread has run so far
        with open('/proc/%s/task/%s/schedstat' % (pid, pid)) as f:
            return int(f.read().split()[0]) / 1000.0

    pid = os.environ.get('REDIS_PID')
    clock, what = (cpu_usec, 'CPU time of Redis') if pid else (evalsha_usec, 'inside Redis')
    times = [[] for _ in scripts]
    for _ in range(int(rounds)):
        for b, batch in enumerate(batches):
            for k in [(b + j) % len(scripts) for j in range(len(scripts))]:
                args = own[k][b % len(own[k])] if own[k] else batch
                if max_records: args = args[:argv(args) + 2] + [max_records.encode()] + args[argv(args) + 3:]
                redis('SELECT', str(k))
                before = clock()
                redis('EVALSHA', shas[k], *args)
                times[k].append(clock() - before)
    first = state(redis, 0)
    for k, path in enumerate(scripts):
        t, s = times[k], state(redis, k)
        differing = len([key for key in set(first) | set(s) if first.get(key) != s.get(key)])
        print('%-24s %d batches: median %.0f µs, mean %.0f µs %s; %d keys, %s'
              % (path.split('/')[-1], len(t), statistics.median(t), statistics.mean(t), what, len(s),
                 'its own batches' if own[k] else '%d differ from %s' % (differing, scripts[0].split('/')[-1])))
    for k in range(1, len(scripts)):
        d = [a - b for a, b in zip(times[k], times[0])]
        print('%-24s against %s, batch by batch: median %+.0f µs, mean %+.0f µs'
              % (scripts[k].split('/')[-1], scripts[0].split('/')[-1], statistics.median(d), statistics.mean(d)))


if __name__ == '__main__':
    if len(sys.argv) < 5: sys.exit(__doc__)
    main(*sys.argv[1:])
