//! Lua scripts that must run atomically on one timeline. Their keys share the owner's hash tag
//! (`{owner}`), so in a cluster they live in one slot.
//!
//! A timeline is cached when its state key exists: `filling` while being rebuilt, `ready`
//! when complete. KEYS[1] is the state key, KEYS[2] the sorted set of tweet IDs (all scored 0,
//! so they order lexicographically, which for ULIDs is by time), KEYS[3] (where used) the set of
//! IDs removed while the timeline was filling: the rebuild read the durable timeline before
//! those removals may have reached it, so it must not write them back; KEYS[4] (where used) the
//! set of merged authors (a removed one is remembered in KEYS[3] as `m:<author>`).

use std::sync::LazyLock;

use redis::Script;

/// Turn a ready timeline whose freshness marker (KEYS[5], set by FINISH_FILL) has expired into
/// a rebuild, as BEGIN_FILL starts one (`filling` for ARGV[1] seconds); 1 when it did. A read
/// found the marker gone; both are checked again here, as a rebuild may have finished since.
/// This is what heals a cache restored from an old snapshot: the marker's expiry is an absolute
/// time, restored with the snapshot, so every restored timeline is rebuilt within one lifetime
/// of its last rebuild, with no operator.
pub static EXPIRE_STALE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        if redis.call('GET', KEYS[1]) ~= 'ready' or redis.call('EXISTS', KEYS[5]) == 1 then return 0 end
        redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
        redis.call('SET', KEYS[1], 'filling', 'EX', ARGV[1])
        return 1
        ",
    )
});

/// Add ARGV[1] to a cached timeline and trim it to ARGV[2] entries; skip uncached owners (0).
/// Counts the entries added in KEYS[3]; once ARGV[3] were, answers 2 (the durable timeline is
/// due a trim) instead of 1, again every ARGV[4] ms (the lease KEYS[4]) until `trimmed` resets
/// the count: a trim that failed, or whose signal was lost with a reply, is made good.
pub static ADD: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
        redis.call('ZADD', KEYS[2], 0, ARGV[1])
        redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -(tonumber(ARGV[2]) + 1))
        local ttl = redis.call('PTTL', KEYS[1])
        local added = redis.call('INCR', KEYS[3])
        if ttl > 0 then
            redis.call('PEXPIRE', KEYS[2], ttl)
            redis.call('PEXPIRE', KEYS[3], ttl)
        end
        if added >= tonumber(ARGV[3]) and redis.call('SET', KEYS[4], 1, 'NX', 'PX', ARGV[4]) then
            return 2
        end
        return 1
        ",
    )
});

/// Remove ARGV[1] from the timeline; while it is filling, also remember the removal for ARGV[2]
/// seconds, so that the rebuild's durable read, which may predate it, cannot bring it back.
pub static REMOVE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        redis.call('ZREM', KEYS[2], ARGV[1])
        if redis.call('GET', KEYS[1]) == 'filling' then
            redis.call('SADD', KEYS[3], ARGV[1])
            redis.call('EXPIRE', KEYS[3], ARGV[2])
        end
        return 1
        ",
    )
});

/// Claim a rebuild: 0 when the timeline is complete or another caller holds the lease KEYS[5]
/// (for ARGV[2] milliseconds, or until it finishes); else take the lease and return 1, and if
/// the timeline is not being filled already, mark it cached (so fan-out writes land from now
/// on) and drop any leftover sets and removals. A fill whose rebuilder died (its lease expired)
/// is taken over as it stands: what the fan-out wrote into it meanwhile is kept.
pub static BEGIN_FILL: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local state = redis.call('GET', KEYS[1])
        if state == 'ready' then return 0 end
        if not redis.call('SET', KEYS[5], 1, 'NX', 'PX', ARGV[2]) then return 0 end
        if not state then
            redis.call('DEL', KEYS[2], KEYS[3], KEYS[4])
            redis.call('SET', KEYS[1], 'filling', 'EX', ARGV[1])
        end
        return 1
        ",
    )
});

/// Finish a rebuild: merge the ARGV[3] IDs ARGV[5..] and then the merged authors after them, all
/// read from the durable timeline, except those removed meanwhile; trim to ARGV[2], mark it
/// ready and let the keys idle out after ARGV[1] seconds; the freshness marker KEYS[5] lives
/// ARGV[4] milliseconds (none when 0: never revalidated). Returns 1 when KEYS[6], the owner's
/// once-a-day "seen" gate, was not set (the caller then records the reader as seen), else 0.
/// Ends the rebuild's lease, KEYS[7].
pub static FINISH_FILL: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local members = {}
        local function flush()
            if #members > 0 then redis.call('ZADD', KEYS[2], unpack(members)) end
            members = {}
        end
        local last_id = 4 + tonumber(ARGV[3])
        for i = 5, last_id do
            if redis.call('SISMEMBER', KEYS[3], ARGV[i]) == 0 then
                members[#members + 1] = 0
                members[#members + 1] = ARGV[i]
                if #members >= 1000 then flush() end
            end
        end
        flush()
        for i = last_id + 1, #ARGV do
            if redis.call('SISMEMBER', KEYS[3], 'm:' .. ARGV[i]) == 0 then
                redis.call('SADD', KEYS[4], ARGV[i])
            end
        end
        redis.call('DEL', KEYS[3])
        redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -(tonumber(ARGV[2]) + 1))
        redis.call('SET', KEYS[1], 'ready', 'EX', ARGV[1])
        redis.call('EXPIRE', KEYS[2], ARGV[1])
        redis.call('EXPIRE', KEYS[4], ARGV[1])
        if tonumber(ARGV[4]) > 0 then redis.call('SET', KEYS[5], 1, 'PX', ARGV[4]) end
        redis.call('DEL', KEYS[7])
        if redis.call('SET', KEYS[6], 1, 'NX', 'EX', 86400) then return 1 end
        return 0
        ",
    )
});

/// Add the merged author ARGV[1] to a cached timeline's set (KEYS[2]); skip uncached owners.
pub static ADD_MERGED: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
        redis.call('SADD', KEYS[2], ARGV[1])
        local ttl = redis.call('PTTL', KEYS[1])
        if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
        return 1
        ",
    )
});

/// Remove the merged author ARGV[1] from the set KEYS[2]; while the timeline is filling,
/// remember the removal in KEYS[3] for ARGV[2] seconds (as `REMOVE` does for tweets).
pub static REMOVE_MERGED: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        redis.call('SREM', KEYS[2], ARGV[1])
        if redis.call('GET', KEYS[1]) == 'filling' then
            redis.call('SADD', KEYS[3], 'm:' .. ARGV[1])
            redis.call('EXPIRE', KEYS[3], ARGV[2])
        end
        return 1
        ",
    )
});

/// An author's recent list (KEYS[1]) if it is known complete (KEYS[2] exists): whether it is,
/// and up to ARGV[2] IDs below ARGV[1] (a ZRANGE BYLEX bound), newest first.
pub static RECENT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        if redis.call('EXISTS', KEYS[2]) == 0 then return {0, {}} end
        return {1, redis.call('ZRANGE', KEYS[1], ARGV[1], '-', 'BYLEX', 'REV', 'LIMIT', 0, ARGV[2])}
        ",
    )
});

/// A sliding-window log of one user's posts (KEYS[1]): drop entries older than the window
/// ARGV[2] ms before now ARGV[1]; if ARGV[3] remain, return the ms until the oldest leaves;
/// otherwise log ARGV[4] and return 0.
pub static ADMIT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
        local now, window, max = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
        if redis.call('ZCARD', KEYS[1]) >= max then
            local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
            return math.max(1, tonumber(oldest[2]) + window - now)
        end
        redis.call('ZADD', KEYS[1], now, ARGV[4])
        redis.call('PEXPIRE', KEYS[1], window)
        return 0
        ",
    )
});
