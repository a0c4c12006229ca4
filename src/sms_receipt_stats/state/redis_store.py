"""The Redis back end (production: TencentDB for Redis reached from the function's VPC).

`redis://[[user]:password@]host[:port][/db]`, or `rediss://` for TLS (the server's certificate
is verified against the system's CAs), spoken by the small client in `resp`. Plain keys map to
Redis strings (`SET key value PX ttl`, the claim is `SET NX PX`); a collection is one hash
whose fields carry their own expiry (`<expires-ms>|<value>`, Redis 7.4's per-field expiry
is not in the Redis versions TencentDB offers) and whose key expires after its longest-lived
field. Reads, compare-and-set and removal of a field are Lua scripts, so each is atomic and
uses the server's clock. No retries and short socket timeouts: a call ends within
`store.CALL_TIMEOUT` whatever the network does, and the guard decides what a failure means.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple, Union

from sms_receipt_stats.state.store import CALL_TIMEOUT, Backend, CountGroup, Status, Store, shape_error

if TYPE_CHECKING:
    from urllib.parse import SplitResult

#: connect (TCP, and TLS for rediss) and then one command; the whole call, however the server
#: dribbles its reply, ends within CALL_TIMEOUT (`resp` keeps one deadline per call)
CONNECT_TIMEOUT = 0.4 * CALL_TIMEOUT
COMMAND_TIMEOUT = 0.3 * CALL_TIMEOUT

_NOW_MS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function live(raw)
  if not raw then return false end
  local sep = string.find(raw, '|', 1, true)
  if not sep then return false end
  if tonumber(string.sub(raw, 1, sep - 1)) <= now then return false end
  return string.sub(raw, sep + 1)
end
"""

# KEYS[1] hash; returns id, value, id, value, ... of live fields; drops expired ones
_ITEMS = _NOW_MS + """
local all = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #all, 2 do
  local v = live(all[i + 1])
  if v then out[#out + 1] = all[i]; out[#out + 1] = v
  else redis.call('HDEL', KEYS[1], all[i]) end
end
return out
"""

# KEYS[1] hash, ARGV[1] id
_GET_ITEM = _NOW_MS + """
return live(redis.call('HGET', KEYS[1], ARGV[1]))
"""

# KEYS[1] hash; ARGV: id, has_expected, expected, has_value, value, ttl_ms
_REPLACE = _NOW_MS + """
local cur = live(redis.call('HGET', KEYS[1], ARGV[1]))
if ARGV[2] == '1' then
  if cur ~= ARGV[3] then return 0 end
elseif cur then
  return 0
end
if ARGV[4] == '1' then
  local ttl = tonumber(ARGV[6])
  redis.call('HSET', KEYS[1], ARGV[1], string.format('%.0f', now + ttl) .. '|' .. ARGV[5])
  if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
else
  redis.call('HDEL', KEYS[1], ARGV[1])
end
return 1
"""

# KEYS[1] key; ARGV: expected, value, ttl_ms
_SWAP = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
"""


# KEYS[1] sorted set of members seen (score: when, ms), KEYS[2..] counters hashes; ARGV[1] window ms, then
# per counters key: ttl ms, linked (0/1), item count, and per item: member, field count, fields. One script:
# a batch is counted whole or not at all, and a member already seen within the window adds nothing. A linked
# group (the per-minute view) counts a member only if an earlier group of this call found it new.
_COUNT_ONCE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local a, counted, fresh = 2, 0, {}
for k = 2, #KEYS do
  local ttl, linked, n = tonumber(ARGV[a]), ARGV[a + 1] == '1', tonumber(ARGV[a + 2])
  a = a + 3
  local touched, used = false, {}
  for i = 1, n do
    local member, nf = ARGV[a], tonumber(ARGV[a + 1])
    a = a + 2
    local new
    if linked then
      new = fresh[member] == true and not used[member]
      used[member] = true
    else
      new = redis.call('ZADD', KEYS[1], 'NX', now, member) == 1
      if new then counted = counted + 1; fresh[member] = true end
    end
    if new then
      touched = true
      for f = a, a + nf - 1 do redis.call('HINCRBY', KEYS[k], ARGV[f], 1) end
    end
    a = a + nf
  end
  if touched and redis.call('PTTL', KEYS[k]) < ttl then redis.call('PEXPIRE', KEYS[k], ttl) end
end
if counted > 0 then redis.call('PEXPIRE', KEYS[1], window) end
return counted
"""

# KEYS: counters hashes; returns one HGETALL array per key
_READ_COUNTERS = """
local out = {}
for k = 1, #KEYS do out[k] = redis.call('HGETALL', KEYS[k]) end
return out
"""
#: counters keys read by one script call (its reply stays far below resp's MAX_ITEMS)
READ_CHUNK = 48

# KEYS: counters hashes, group after group; ARGV: how many keys each group has. Returns per group
# field, sum, field, sum, ... (integers), or nil (a failure) when a value is not a counter (digits,
# below MAX_COUNTER: 15 of them at most) or a sum reaches MAX_SUM (2^53, where Lua's numbers stop
# being exact). Summed here, a group's reply is one hash's size whatever its hours.
_SUM_COUNTERS = """
local out, k = {}, 1
local find, tonumber = string.find, tonumber
for g = 1, #ARGV do
  local sums = {}
  for _ = 1, tonumber(ARGV[g]) do
    local all = redis.call('HGETALL', KEYS[k])
    k = k + 1
    for i = 1, #all, 2 do
      local raw, name = all[i + 1], all[i]
      if #raw > 15 or not find(raw, '^%d+$') then return false end
      sums[name] = (sums[name] or 0) + tonumber(raw)
    end
  end
  local flat, n = {}, 0
  for name, sum in pairs(sums) do  -- a sum past 2^53 never comes back below it: checked once
    if sum >= 9007199254740992 then return false end
    flat[n + 1] = name; flat[n + 2] = sum; n = n + 2
  end
  out[g] = flat
end
return out
"""
#: counters keys summed by one script call (a group with more is summed in pieces, added up here):
#: ten days of hours, a few ms of the server's time
SUM_CHUNK = 240


def client_name_for(prefix: str) -> str:
    return "sms-receipt-stats@" + prefix.rstrip(":")


def _ms(ttl: float) -> int:
    return max(1, int(ttl * 1000))


def _value(reply: Any, command: str) -> Optional[str]:
    """A bulk string or nil; anything else (a status, an integer, an array) is a failure."""
    if reply is None or (isinstance(reply, str) and not isinstance(reply, Status)):
        return reply
    raise shape_error(command)


def _status(reply: Any, expected: str, command: str) -> None:
    if not (isinstance(reply, Status) and reply == expected):
        raise shape_error(command)


def _flag(reply: Any, command: str) -> bool:
    """A script's 0 or 1."""
    if isinstance(reply, int) and reply in (0, 1):
        return reply == 1
    raise shape_error(command)


class RedisStore(Store):
    kind = "redis"

    def __init__(self, url: str, prefix: str, *, client_name: Optional[str] = None):
        from sms_receipt_stats.state.resp import RespClient

        self.prefix = prefix
        # named after the prefix, so an operator's CLIENT LIST tells which function holds a connection
        self._client = RespClient(url, connect_timeout=CONNECT_TIMEOUT, command_timeout=COMMAND_TIMEOUT,
                                  call_timeout=CALL_TIMEOUT, client_name=client_name or client_name_for(prefix))

    def _key(self, key: str) -> str:
        return self.prefix + key

    def _hash(self, collection: str) -> str:
        return f"{self.prefix}c:{collection}"

    # Every reply is checked for its shape (docs/state.md "Bounds"): a reply of another shape
    # (an array for a GET, `+OK` for a script, an integer for `SET NX`) is a store failure, never
    # a value, so a confused proxy or server makes the run stateless instead of misled.

    def get(self, key: str) -> Optional[str]:
        return _value(self._client.execute("GET", self._key(key)), "GET")

    def get_many(self, keys: List[str]) -> List[Optional[str]]:
        if not keys:
            return []
        reply = self._client.execute("MGET", *[self._key(k) for k in keys])
        if not isinstance(reply, list) or len(reply) != len(keys):
            raise shape_error("MGET")
        return [_value(v, "MGET") for v in reply]

    def set(self, key: str, value: str, ttl: float) -> None:
        _status(self._client.execute("SET", self._key(key), value, "PX", _ms(ttl)), "OK", "SET")

    def claim(self, key: str, value: str, ttl: float) -> bool:
        reply = self._client.execute("SET", self._key(key), value, "PX", _ms(ttl), "NX")
        if reply is None:
            return False
        _status(reply, "OK", "SET NX")
        return True

    def swap(self, key: str, expected: str, value: str, ttl: float) -> bool:
        return _flag(self._client.eval(_SWAP, [self._key(key)], [expected, value, _ms(ttl)]), "EVALSHA")

    def delete(self, key: str) -> None:
        reply = self._client.execute("DEL", self._key(key))
        if not isinstance(reply, int) or reply < 0:
            raise shape_error("DEL")

    def items(self, collection: str) -> Dict[str, str]:
        flat = self._client.eval(_ITEMS, [self._hash(collection)], [])
        if not isinstance(flat, list) or len(flat) % 2:
            raise shape_error("EVALSHA")
        out: Dict[str, str] = {}
        for i in range(0, len(flat), 2):
            item_id, value = _value(flat[i], "EVALSHA"), _value(flat[i + 1], "EVALSHA")
            if item_id is None or value is None:
                raise shape_error("EVALSHA")
            out[item_id] = value
        return out

    def get_item(self, collection: str, item_id: str) -> Optional[str]:
        return _value(self._client.eval(_GET_ITEM, [self._hash(collection)], [item_id]), "EVALSHA")

    def replace(self, collection: str, item_id: str, expected: Optional[str], value: Optional[str],
                ttl: float) -> bool:
        args = [item_id, "0" if expected is None else "1", expected or "",
                "0" if value is None else "1", value or "", _ms(ttl)]
        return _flag(self._client.eval(_REPLACE, [self._hash(collection)], args), "EVALSHA")

    def count_once(self, seen: str, window: float, groups: Sequence[CountGroup]) -> int:
        keys = [self._key(seen)]
        args: List[Union[str, int]] = [_ms(window)]
        for group in groups:
            keys.append(self._key(group.counters))
            args += [_ms(group.ttl), 1 if group.linked else 0, len(group.items)]
            for member, fields in group.items:
                args += [member, len(fields), *fields]
        reply = self._client.eval(_COUNT_ONCE, keys, args)
        if not isinstance(reply, int) or reply < 0:
            raise shape_error("EVALSHA")
        return reply

    def read_counters(self, keys: List[str]) -> List[Dict[str, int]]:
        found: List[Dict[str, int]] = []
        for start in range(0, len(keys), READ_CHUNK):
            chunk = [self._key(k) for k in keys[start:start + READ_CHUNK]]
            replies = self._client.eval(_READ_COUNTERS, chunk, [])
            if not isinstance(replies, list) or len(replies) != len(chunk):
                raise shape_error("EVALSHA")
            for flat in replies:
                if not isinstance(flat, list) or len(flat) % 2:
                    raise shape_error("EVALSHA")
                counters: Dict[str, int] = {}
                for i in range(0, len(flat), 2):
                    name, value = _value(flat[i], "EVALSHA"), _value(flat[i + 1], "EVALSHA")
                    if name is None or value is None or not value.isdigit():
                        raise shape_error("EVALSHA")  # HINCRBY keeps integers: anything else is not our data
                    counters[name] = int(value)
                found.append(counters)
        return found

    def sum_counters(self, groups: Sequence[Sequence[str]]) -> List[Dict[str, int]]:
        sums: List[Dict[str, int]] = [{} for _ in groups]
        pieces = [(index, list(keys[start:start + SUM_CHUNK])) for index, keys in enumerate(groups)
                  for start in range(0, len(keys), SUM_CHUNK)]
        call: List[Tuple[int, List[str]]] = []
        size = 0
        for index, piece in pieces:
            if call and size + len(piece) > SUM_CHUNK:
                self._sum_call(call, sums)
                call, size = [], 0
            call.append((index, piece))
            size += len(piece)
        if call:
            self._sum_call(call, sums)
        return sums

    def _sum_call(self, call: List[Tuple[int, List[str]]], sums: List[Dict[str, int]]) -> None:
        """One script call summing pieces of groups; adds each piece's sums to its group's."""
        keys = [self._key(k) for _, piece in call for k in piece]
        replies = self._client.eval(_SUM_COUNTERS, keys, [len(piece) for _, piece in call])
        if not isinstance(replies, list) or len(replies) != len(call):
            raise shape_error("EVALSHA")
        for (index, _), flat in zip(call, replies):
            if not isinstance(flat, list) or len(flat) % 2:
                raise shape_error("EVALSHA")
            mine = sums[index]
            for i in range(0, len(flat), 2):
                name, value = _value(flat[i], "EVALSHA"), flat[i + 1]
                if name is None or not isinstance(value, int) or value < 0:
                    raise shape_error("EVALSHA")
                mine[name] = mine.get(name, 0) + value

    def ping(self) -> None:
        _status(self._client.execute("PING"), "PONG", "PING")

    def bound(self, seconds: float) -> None:
        self._client.call_timeout = max(0.01, min(CALL_TIMEOUT, seconds))

    def close(self) -> None:
        self._client.close()


def check_url(parts: SplitResult) -> Optional[str]:
    """`redis://[[user]:password@]host[:port][/db]` (or rediss): the password it carries, if any."""
    scheme = parts.scheme.lower()
    if not parts.hostname:
        raise ValueError(f"{scheme}:// needs a host, like {scheme}://10.0.0.5:6379/0")
    db = parts.path.strip("/")
    if db and not (db.isdigit() and db.isascii()):
        raise ValueError(f"{scheme}://: the path must be a database number, like /0")
    port = parts.port
    if port is not None and not 0 < port < 65536:
        raise ValueError("port out of range")
    if parts.query or parts.fragment:
        raise ValueError(f"{scheme}://: no query or fragment is supported")
    from urllib.parse import unquote

    return unquote(parts.password) if parts.password else None


BACKEND = Backend(schemes=("redis", "rediss"), check=check_url, open=RedisStore, example="redis://host:6379/0")
