#!lua
-- Applies one batch of events, all or nothing: every read and check comes before the first write, and
-- Redis runs a script alone. See RedisSessionStore for the key layout; Batch.java writes ARGV.
--
-- KEYS[1] the session index (sorted set: session id -> last activity, ms)
-- KEYS[2] the retained bytes of all sessions (string, an integer)
-- KEYS[3] the counter that numbers the sessions' lives
-- KEYS[4] the requests in flight (hash: model label -> count), the sum of the sessions' own ('f:<label>')
-- KEYS[5] the sessions with requests in flight (sorted set: session key -> a bucket no later than its oldest start's)
-- ARGV[1..11] now ms, max sessions, max records per session, max models per session, max bytes,
--            dedupe window ms, number of events, key prefix, max score names per session, the starts and ends
--            of requests in the order of the batch, as one MessagePack array of pairs: the number of the event
--            whose applying applies it (positive for a start, negative for an end; an event of the session the
--            start or end is of), the model label, and for an end how long its call ran in ms (-1 for a start
--            and for an end that does not say); and the width of a bucket of start times in ms (BUCKETS)
-- then FIELDS values per event: session id, event id ('' for none), kind (S started, C completed, F failed,
-- R scored, G generic), name (the model label of C and F, the score name of R), figures as MessagePack numbers
-- (C: duration, prompt, completion, total, cached and reasoning tokens, tool calls 0/1, costed 0/1, cost in
-- whole dollars, the rest in picodollars, usage reported 0/1; R: the score's value; else empty), and the
-- encoded record (C, F) or the encoded score of a request (R; '' when it grades none).
-- RedisSessionStore.Batch writes them.
--
-- The session's numbers are stored as MessagePack numbers after the layout number (layout.lua's LAYOUT), so
-- that a batch reads and writes each value in one cmsgpack call (text is parsed and formatted number by
-- number) and the values stay short. A value that does not start with LAYOUT was written by another layout:
-- the script refuses the batch, before its first write, rather than misread it.
--
-- Returns {applied event numbers, folded event numbers (C and F past the session's model labels, R past its
-- score names: summed under _other), capacity evictions, memory evictions, sessions, the lives of the applied
-- events' sessions, the labels whose requests in flight the batch changed (its starts and ends, its evictions),
-- each followed by its requests in flight, 1 when the batch made the counter of lives anew (Redis no longer held
-- it: its data was emptied) else 0, the ids of the sessions the bounds evicted, the counter of lives when they
-- were: every life of theirs up to it is gone (0 when none was evicted)}.

-- The globals this script reads per event, as locals: Lua finds a local in a register, a global by a table lookup.
local ARGV, redis, cmsgpack, string, ipairs, pairs, unpack, tonumber, math, pcall =
  ARGV, redis, cmsgpack, string, ipairs, pairs, unpack, tonumber, math, pcall
local FIELDS = 6
local HEADER = 11
local now = tonumber(ARGV[1])
local maxSessions = tonumber(ARGV[2])
local maxRecords = tonumber(ARGV[3])
local maxModels = tonumber(ARGV[4])
local maxBytes = tonumber(ARGV[5])
local dedupeMs = tonumber(ARGV[6])
local n = tonumber(ARGV[7])
local prefix = ARGV[8]
local maxScoreNames = tonumber(ARGV[9])
local bucketWidth = tonumber(ARGV[11])
-- How long after its call began a start may reach the store (InFlightRequests.START_LATENESS_MS).
local START_LATENESS = 10000
local current = math.floor(now / bucketWidth) -- the bucket of the batch's starts
local OTHER_SCORE_NAME = '_other'
local PICO = 1000000000000
-- What a session takes beside its figures and records: its keys, their headers, its index entry.
local SESSION_OVERHEAD = 240
-- The bytes 'p' and 'f' (a pair's field starts 'p:', a label's requests in flight 'f:', a score name's 's:').
local P = 112
local F = 102

-- Refuses the batch: the session at key was written in another layout, which this script would misread.
local function anotherLayout(key)
  error('LAYOUT ' .. key .. ' was written by another version of llm-metrics; empty the Redis database', 0)
end

-- How many numbers, the layout number first, a value of field holds: the header 'h' 10, a pair 17, a score name 6
-- (requests in flight: flightOf).
local function numbersOf(field)
  if field == 'h' then return 10 end
  if string.byte(field, 1) == P then return 17 end
  return 6
end

-- The figures of a stored value of field ('p:<label>' or 's:<name>') of session s, the layout number first, as
-- they are packed again; refusing the batch when the value is of another layout, or holds more or fewer values
-- than its field's numbers (set by someone else): the writes would fail on it, after the first ones. Its stored
-- size is to leave the session's bytes (s.read): every field read is written back with its new size.
-- Whether f[2..count] are of the kind the writes expect, by arithmetic alone (no call per number): whole numbers
-- (x % 1 is 0, which also rules out infinities and NaN; a pair's sums may pass 2^53: four million calls of 2^31
-- tokens), but a score name's sum, minimum and maximum (count 6, from the 4th), finite doubles (x - x is 0). A text
-- raises an error, which the caller's pcall turns into a refusal.
local function figuresOk(f, count)
  for k = 2, count do
    local x = f[k]
    if count == 6 and k >= 4 then
      if x - x ~= 0 then return false end
    elseif x % 1 ~= 0 then
      return false
    end
  end
  return true
end
-- Whether the header's counts are whole and within 2^53 either way: the writes pass them to Redis as digits (LPOP's
-- count, INCRBY's). A text raises an error, as in figuresOk.
local function countsOk(a, b, c, d, e, f, g, h, i)
  return a % 1 + b % 1 + c % 1 + d % 1 + e % 1 + f % 1 + g % 1 + h % 1 + i % 1 == 0
      and math.max(a, b, c, d, e, f, g, h, i) < 2^53 and math.min(a, b, c, d, e, f, g, h, i) > -2^53
end

local function checked(value, s, field)
  if string.byte(field, 1) == F then
    local f = flightOf(value, current)
    if not f then anotherLayout(s.key) end
    s.read = (s.read or 0) + string.len(field) + string.len(value) + RECORD_OVERHEAD
    return f
  end
  if not ofThisLayout(value) then anotherLayout(s.key) end
  local f = {cmsgpack.unpack(value)}
  local count = numbersOf(field)
  if f[count] == nil or f[count + 1] ~= nil then anotherLayout(s.key) end
  -- Each number of the kind the writes expect: a text (set by someone else) would fail an addition after the first
  -- writes. A score name's sum, minimum and maximum are doubles, the other figures whole numbers.
  local ok, good = pcall(figuresOk, f, count)
  if not (ok and good) then anotherLayout(s.key) end
  s.read = (s.read or 0) + string.len(field) + string.len(value) + RECORD_OVERHEAD
  return f
end

-- The numbers of session key's header after the layout number and the last activity, which the batch sets anew:
-- life, requests, records, scores of requests, scores, bytes, labels, names; refusing the batch as checked() does.
local function checkedHeader(value, key)
  if not ofThisLayout(value) then anotherLayout(key) end
  local _, life, last, req, n, sn, sc, b, labels, names, extra = cmsgpack.unpack(value)
  if names == nil or extra ~= nil then anotherLayout(key) end
  local ok, counts = pcall(countsOk, life, last, req, n, sn, sc, b, labels, names)
  if not (ok and counts) then anotherLayout(key) end
  return life, req, n, sn, sc, b, labels, names
end

refuseDenied(KEYS, sessionKey(prefix, ''))

-- 1. Which events are new: reads only.
local idKeys = {}
local applied = {}
local claimed = {}
for i = 1, n do
  local base = HEADER + (i - 1) * FIELDS
  local eventId = ARGV[base + 2]
  local new = true
  if eventId ~= '' then
    local key = sessionKey(prefix, ARGV[base + 1]) .. ':id:' .. eventId
    if claimed[key] or redis.call('EXISTS', key) == 1 then
      new = false
    else
      claimed[key] = true
      idKeys[#idKeys + 1] = key
    end
  end
  if new then applied[#applied + 1] = i end
end

-- 2. The sessions the new events touch, in order of first appearance, with their header, the figures of the
-- model labels and score names the batch names and their requests in flight of the labels it starts or ends, in
-- one HMGET each, and the figures of _other when the batch may fold into it: everything the writes need is read,
-- and its layout checked, before the first write.
local order = {}
local sessions = {}
for _, i in ipairs(applied) do
  local base = HEADER + (i - 1) * FIELDS
  local id = ARGV[base + 1]
  local kind = ARGV[base + 3]
  if kind ~= 'G' then
    local s = sessions[id]
    if s == nil then
      -- s's array part: its event numbers; fields' array part: the hash fields to read, and under each name
      -- what that field holds: false when absent, else its figures (checked())
      s = {key = sessionKey(prefix, id), fields = {'h'}}
      sessions[id] = s
      order[#order + 1] = id
    end
    s[#s + 1] = i
    local field = nil
    if kind == 'C' or kind == 'F' then
      field = 'p:' .. ARGV[base + 4]
    elseif kind == 'R' then
      field = 's:' .. ARGV[base + 4]
    end
    if kind == 'C' or kind == 'F' then
      s.addsRecords = true
    elseif kind == 'R' and ARGV[base + 6] ~= '' then
      s.addsScores = true
    end
    local fields = s.fields
    if field ~= nil and fields[field] == nil then
      fields[field] = false
      fields[#fields + 1] = field
    end
  end
end
-- The starts and ends of the applied events, in the batch's order, as {session, label, +1 or -1, how long an end's
-- call ran or -1}; each names the field of its label's requests in flight in its session.
local isApplied = {}
for _, i in ipairs(applied) do isApplied[i] = true end
local flights = {}
local ops = cmsgpack.unpack(ARGV[10])
for j = 1, #ops, 3 do
  local number = ops[j]
  local i = math.abs(number)
  local s = isApplied[i] and sessions[ARGV[HEADER + (i - 1) * FIELDS + 1]]
  if s then
    local field = 'f:' .. ops[j + 1]
    flights[#flights + 1] = {s, ops[j + 1], number > 0 and 1 or -1, ops[j + 2]}
    local fields = s.fields
    if fields[field] == nil then
      fields[field] = false
      fields[#fields + 1] = field
    end
  end
end
-- Reads field of session s, unless asked for already, checked.
local function fetch(s, field)
  local fields = s.fields
  if fields[field] == nil then
    fields[#fields + 1] = field
    local value = redis.call('HGET', s.key, field)
    fields[field] = value and checked(value, s, field) or false
  end
end
checkGlobals(KEYS)
-- Whether this batch made the counter of lives anew (INCR of a missing key gives 1): the store never removes it, so
-- Redis lost its data, which the check every 500 ms would not see once a batch made the counter again.
local livesMade = 0
local absent = {}
for _, id in ipairs(order) do
  local s = sessions[id]
  local fields = s.fields
  local values = redis.call('HMGET', s.key, unpack(fields, 1, math.min(#fields, 1000)))
  for start = 1001, #fields, 1000 do -- unpack's bound, past a thousand model labels and score names
    for _, value in ipairs(redis.call('HMGET', s.key, unpack(fields, start, math.min(start + 999, #fields)))) do
      values[#values + 1] = value
    end
  end
  if values[1] then
    s.life, s.req, s.n, s.sn, s.sc, s.b, s.labels, s.names = checkedHeader(values[1], s.key)
  else
    if redis.call('EXISTS', s.key) == 1 then anotherLayout(s.key) end -- a hash without a header
    s.labels = 0
    s.names = 0
  end
  local newLabels, newNames = 0, 0
  for j = 2, #fields do
    local value = values[j]
    local byte = string.byte(fields[j], 1)
    if value then
      fields[fields[j]] = checked(value, s, fields[j])
    elseif byte == P then
      newLabels = newLabels + 1
    elseif byte ~= F then
      newNames = newNames + 1
    end
  end
  -- Each label or name new to the session takes a place while there is one, then folds into _other.
  if s.labels + newLabels > maxModels then fetch(s, 'p:_other') end
  if s.names + newNames > maxScoreNames then fetch(s, 's:' .. OTHER_SCORE_NAME) end
  s.fresh = s.life == nil
  -- A records or scores list its header counts none of (a new session's) is absent: checked below, all at once.
  -- One it counts is checked when the batch writes it (keep(): a push, or a trim past the bound): someone else
  -- may have set another type there, which the write would fail on after the batch's first writes.
  if (s.n or 0) == 0 then
    absent[#absent + 1] = s.key .. ':r'
  elseif s.addsRecords or s.n > maxRecords then
    checkType(s.key .. ':r', 'list')
  end
  if (s.sn or 0) == 0 then
    absent[#absent + 1] = s.key .. ':s'
  elseif s.addsScores or s.sn > maxRecords then
    checkType(s.key .. ':s', 'list')
  end
end
-- The lists no header counts, in one EXISTS: one found is a list left by a session whose hash Redis evicted, removed
-- with the first writes, or a key of another type someone else set, which refuses the batch. A list its header
-- counts was checked above when the batch writes it.
local leftovers = {}
for start = 1, #absent, 1000 do
  local last = math.min(start + 999, #absent)
  if redis.call('EXISTS', unpack(absent, start, last)) > 0 then
    for k = start, last do
      local t = redis.call('TYPE', absent[k])['ok']
      if t == 'list' then
        leftovers[#leftovers + 1] = absent[k]
      elseif t ~= 'none' then
        foreign(absent[k], 'a ' .. t)
      end
    end
  end
end

-- The requests in flight, in the batch's order: each session counts its own, per label and bucket of start time (a
-- start adds one to the current bucket; an end takes one off the bucket its start fell in, its call's duration
-- before now, else the nearest that has one, newer ones first, as InFlightRequests does: nothing when that bucket is
-- over or its session has none), the buckets the idle timeout old dropped first
-- (flightAdvance); the sum over the sessions (KEYS[4]) changes by what each session applied. Reads only: the counts
-- are written in step 3 and 5.
for _, op in ipairs(flights) do
  local s, label, delta = op[1], op[2], op[3]
  local field = 'f:' .. label
  local c = s.fields[field]
  if c then flightAdvance(KEYS, c, label, current) end
  if delta > 0 then
    if not c then
      c = {LAYOUT, current, 0, 0, 0, 0}
      s.fields[field] = c
    end
    -- A count this high is none a batch made (someone else set it): it goes no higher, past what checked() takes.
    if flightTotal(c) < 2^53 - 1 then
      c[3] = c[3] + 1
      flightAdd(KEYS, label, 1)
    end
  elseif c then
    -- The start's bucket behind c's newest, as the store received it (late: up to START_LATENESS after its call
    -- began) and as the call began (early, the same or one more); those two first, then the newer, then the older.
    local late, early = 0, 0
    if op[4] >= 0 then
      local began = now - op[4]
      late = c[2] - math.floor((began + math.min(START_LATENESS, math.floor(bucketWidth / 4))) / bucketWidth)
      local e = c[2] - math.floor(began / bucketWidth)
      early = e < BUCKETS and math.max(late, e) or late
      late = math.max(0, late)
      early = math.max(late, early)
    end
    if late < BUCKETS then
      local shift = early - late
      for k = 0, BUCKETS - 1 do
        local o
        if k == 0 then o = late
        elseif k <= shift then o = early
        elseif k - shift <= late then o = late - (k - shift)
        else o = k end
        if c[3 + o] > 0 then
          c[3 + o] = c[3 + o] - 1
          flightAdd(KEYS, label, -1)
          break
        end
      end
    end
  end
end

-- The figures of a session's hash field ('p:<label>' or 's:<name>'), as step 2 read and checked them; nil when it
-- has none.
local function figures(s, field)
  return s.fields[field] or nil
end

-- The records or the scores of requests: the newest maxRecords of each are kept, the dropped ones stop
-- counting. countField is the hash field that holds the list's length; added[1..count] the batch's new ones.
local function keep(s, suffix, countField, added, count)
  local held = s[countField] or 0
  if count == 0 and held <= maxRecords then return end
  local first = math.max(1, count - maxRecords + 1)
  local kept = count - first + 1
  local drop = held + kept - maxRecords
  if drop > 0 then
    -- LPOP with a count hands back what it removes, whose size leaves the session's bytes (false: no list).
    for _, old in ipairs(redis.call('LPOP', s.key .. suffix, drop) or {}) do
      s.b = s.b - string.len(old) - RECORD_OVERHEAD
    end
    held = held - drop
  end
  for start = first, count, 1000 do
    redis.call('RPUSH', s.key .. suffix, unpack(added, start, math.min(start + 999, count)))
  end
  for j = first, count do
    s.b = s.b + string.len(added[j]) + RECORD_OVERHEAD
  end
  s[countField] = held + kept
end

-- A session larger than the byte bound by itself, its figures counted: its oldest records go until it fits or
-- only its newest is left, and with them its oldest scores of requests in the share they had of the records, so
-- that the records kept keep their scores; then, with one record left, its oldest scores but the newest. Its
-- totals stay.
-- A list shorter than the header counts (someone else deleted or trimmed it), or of another type someone else set
-- (a list the batch adds nothing to is not checked before), ends the count there, rather than fail the script
-- after its first writes.
local function pop(s, suffix, countField)
  local old = redis.pcall('LPOP', s.key .. suffix)
  if not old or type(old) == 'table' then
    s[countField] = 0
    return
  end
  s.b = s.b - string.len(old) - RECORD_OVERHEAD
  s[countField] = s[countField] - 1
end
local function shrink(s)
  local records, scores, dropped = s.n or 0, s.sn or 0, 0
  while s.b > maxBytes and (s.n or 0) > 1 do
    pop(s, ':r', 'n')
    dropped = dropped + 1
    local share = math.max(1, math.ceil(scores * (records - dropped) / records))
    while (s.sn or 0) > share do pop(s, ':s', 'sn') end
  end
  while s.b > maxBytes and (s.sn or 0) > 1 do pop(s, ':s', 'sn') end
end

-- 3. The writes.
for start = 1, #leftovers, 1000 do
  redis.call('DEL', unpack(leftovers, start, math.min(start + 999, #leftovers)))
end
for _, key in ipairs(idKeys) do
  redis.call('SET', key, '1', 'PX', dedupeMs)
end
local folded = {}
local bytesDelta = 0
-- Filled anew for each session, up to a count: one table each for the batch rather than one per session.
local hash, records, scored = {}, {}, {}
-- The sessions left with requests in flight, each after the bucket of its oldest start written: KEYS[5] names them
-- all in one ZADD after the sessions' writes (a redis.call costs more than the member it adds).
local named = {}
for _, id in ipairs(order) do
  local s = sessions[id]
  local fields = s.fields
  if s.fresh then
    -- A life is above every earlier one even when Redis lost the counter (a restart without persistence, a
    -- failover to a replica that lagged): never below now (ms) * 1000, exact in Lua's doubles until the
    -- year 2255. The processes compare lives to drop their figures of earlier ones.
    s.life = redis.call('INCR', KEYS[3])
    if s.life == 1 then livesMade = 1 end
    if s.life < now * 1000 then
      s.life = now * 1000
      redis.call('SET', KEYS[3], string.format('%d', s.life))
    end
    s.req = 0
    s.n = 0
    s.sn = 0
    s.sc = 0
    s.b = SESSION_OVERHEAD + 3 * string.len(s.key)
    bytesDelta = bytesDelta + s.b
  end
  local before = s.b
  s.b = s.b - (s.read or 0)
  local recordCount, scoredCount = 0, 0
  for k = 1, #s do
    local i = s[k]
    local base = HEADER + (i - 1) * FIELDS
    local kind = ARGV[base + 3]
    if kind == 'C' or kind == 'F' then
      local label = ARGV[base + 4]
      local field = 'p:' .. label
      local p = figures(s, field)
      if p == nil and s.labels >= maxModels and label ~= '_other' then
        folded[#folded + 1] = i
        field = 'p:_other'
        p = figures(s, field)
      end
      if p == nil then
        p = {LAYOUT, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
        fields[field] = p
        s.labels = s.labels + 1
      end
      if kind == 'C' then
        local duration, prompt, completion, total, cached, reasoning, tools, costed, dollars, picos, usage =
          cmsgpack.unpack(ARGV[base + 5])
        -- after the layout number: successes, failures, tool calls, duration, max duration, prompt, max prompt,
        -- completion, max completion, total, cached, reasoning, costed, cost dollars, cost picodollars, without
        -- usage
        p[2] = p[2] + 1
        p[4] = p[4] + tools
        p[5] = p[5] + duration
        if duration > p[6] then p[6] = duration end
        p[7] = p[7] + prompt
        if prompt > p[8] then p[8] = prompt end
        p[9] = p[9] + completion
        if completion > p[10] then p[10] = completion end
        p[11] = p[11] + total
        p[12] = p[12] + cached
        p[13] = p[13] + reasoning
        if usage == 0 then p[17] = p[17] + 1 end
        if costed == 1 then
          p[14] = p[14] + 1
          p[15] = p[15] + dollars
          p[16] = p[16] + picos
          if p[16] >= PICO then
            p[15] = p[15] + 1
            p[16] = p[16] - PICO
          end
        end
      else
        p[3] = p[3] + 1
      end
      s.req = s.req + 1
      recordCount = recordCount + 1
      records[recordCount] = ARGV[base + 6]
    elseif kind == 'R' then
      -- count, sum, min, max of the name; past maxScoreNames names, of _other; ordinals keep their order
      local name = ARGV[base + 4]
      local value = cmsgpack.unpack(ARGV[base + 5])
      local field = 's:' .. name
      local t = figures(s, field)
      if t == nil and s.names >= maxScoreNames and name ~= OTHER_SCORE_NAME then
        folded[#folded + 1] = i
        field = 's:' .. OTHER_SCORE_NAME
        t = figures(s, field)
      end
      if t == nil then
        t = {LAYOUT, s.names, 0, 0, value, value}
        fields[field] = t
        s.names = s.names + 1
      end
      t[3] = t[3] + 1
      t[4] = t[4] + value
      if value < t[5] then t[5] = value end
      if value > t[6] then t[6] = value end
      s.sc = s.sc + 1
      if ARGV[base + 6] ~= '' then
        scoredCount = scoredCount + 1
        scored[scoredCount] = ARGV[base + 6]
      end
    end
  end
  keep(s, ':r', 'n', records, recordCount)
  keep(s, ':s', 'sn', scored, scoredCount)

  -- the figures read or new, then the header; a label's requests in flight at 0 are removed, and the session is
  -- to be named in KEYS[5] by the bucket of its oldest start written (named)
  local h = 0
  local gone = nil
  local oldest = nil
  for j = 2, #fields do
    local field = fields[j]
    local f = fields[field]
    local flight = f and string.byte(field, 1) == F
    if flight and flightTotal(f) == 0 then
      gone = gone or {}
      gone[#gone + 1] = field
    elseif f then
      if flight then
        local o = flightOldest(f)
        if oldest == nil or o < oldest then oldest = o end
      end
      local value = cmsgpack.pack(unpack(f))
      s.b = s.b + string.len(field) + string.len(value) + RECORD_OVERHEAD
      hash[h + 1] = field
      hash[h + 2] = value
      h = h + 2
    end
  end
  if s.b > maxBytes then shrink(s) end
  hash[h + 1] = 'h'
  hash[h + 2] = cmsgpack.pack(LAYOUT, s.life, now, s.req, s.n, s.sn, s.sc, s.b, s.labels, s.names)
  redis.call('HSET', s.key, unpack(hash, 1, h + 2))
  if gone then
    for start = 1, #gone, 1000 do
      redis.call('HDEL', s.key, unpack(gone, start, math.min(start + 999, #gone)))
    end
  end
  if oldest then
    named[#named + 1] = oldest
    named[#named + 1] = s.key
  end
  bytesDelta = bytesDelta + s.b - before
end
-- The sessions left with requests in flight named in KEYS[5], each by the bucket of its oldest start unless it is
-- named by an older one (LT); then the batch's sessions in the index: one ZADD each, at most 1000 sessions at a time
-- (unpack's bound). Both come before step 4, whose evictions take a session out of both.
for start = 1, #named, 2000 do
  redis.call('ZADD', KEYS[5], 'LT', unpack(named, start, math.min(start + 1999, #named)))
end
for start = 1, #order, 1000 do
  local index = {}
  for j = start, math.min(start + 999, #order) do
    index[#index + 1] = now
    index[#index + 1] = order[j]
  end
  redis.call('ZADD', KEYS[1], unpack(index))
end
local total = 0
if bytesDelta ~= 0 then
  total = redis.call('INCRBY', KEYS[2], bytesDelta)
else
  total = tonumber(redis.call('GET', KEYS[2]) or '0')
end

-- 4. The bounds: the least recently active sessions go, a hundredth of the bound at a time, with their requests in
-- flight.
local evictedIds = {}
local function evict(id)
  evictedIds[#evictedIds + 1] = id
  local key = sessionKey(prefix, id)
  local b = size(key)
  leaveInFlight(KEYS, key)
  redis.call('DEL', key, key .. ':r', key .. ':s')
  redis.call('ZREM', KEYS[1], id)
  total = redis.call('DECRBY', KEYS[2], b)
end
local batch = math.max(1, math.floor(maxSessions / 100))
local count = redis.call('ZCARD', KEYS[1])
local capacity = 0
if count > maxSessions then
  for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, count - maxSessions + batch - 2)) do
    evict(id)
    capacity = capacity + 1
  end
  count = count - capacity
end
local memory = 0
while total > maxBytes and count > 1 do
  local average = math.max(1, math.floor(total / count))
  local take = math.min(batch, count - 1, math.floor((total - maxBytes) / average) + 1)
  for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, take - 1)) do
    evict(id)
    memory = memory + 1
  end
  count = count - take
end
-- 5. The requests in flight summed over the sessions, as the batch's starts and ends and its evictions changed them.
local counts = flightWrite(KEYS)

-- The life of each applied event's session (0 for a generic event): a process's own figures of a session
-- start again with a new life.
local lives = {}
for k, i in ipairs(applied) do
  local base = HEADER + (i - 1) * FIELDS
  local s = sessions[ARGV[base + 1]]
  lives[k] = (ARGV[base + 3] ~= 'G' and s ~= nil) and s.life or 0
end
local livesCounter = 0
if #evictedIds > 0 then
  livesCounter = tonumber(redis.call('GET', KEYS[3]) or '0')
end
return {applied, folded, capacity, memory, count, lives, counts, livesMade, evictedIds, livesCounter}
