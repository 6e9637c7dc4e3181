/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
/*
 * libxenbpf: offload a guest's BPF network function to dom0 (XenBPF, docs/libxenbpf.md).
 *
 * A guest connects to bpfd, dom0's daemon, over its own channel, sends it a BPF object or raw
 * bytecode, and bpfd loads the program in dom0 and runs it, through the dispatcher at dom0's NIC,
 * on the traffic addressed to this guest's MAC. The guest then reads and writes the program's
 * maps through the same connection. It never sees a kernel file descriptor: programs and maps
 * are named by small IDs that are only meaningful on this connection.
 *
 *   struct xenbpf *h;
 *   if (xenbpf_connect(NULL, &h) < 0) { fprintf(stderr, "%s\n", xenbpf_errmsg(NULL)); ... }
 *   uint32_t prog;
 *   struct xenbpf_map_info maps[XENBPF_MAX_MAPS];
 *   size_t n = XENBPF_MAX_MAPS;
 *   if (xenbpf_load_elf(h, obj, obj_len, "icmp_echo_tc", &prog, maps, &n) < 0)
 *     fprintf(stderr, "%s\n", xenbpf_errmsg(h));
 *   ...
 *   xenbpf_disconnect(h);  // bpfd unloads everything this connection loaded
 *
 * Conventions:
 *   - Every function returning int returns 0 on success or a negative errno. The reason, in
 *     words, is then available from xenbpf_errmsg() (per connection and calling thread).
 *   - A connection is one session with bpfd: closing it, or the process dying, removes every
 *     program and map loaded through it. bpfd serves one session per domain at a time.
 *   - Thread-safe: each connection has one lock, held for the whole request and reply, so
 *     threads may share a connection and their requests are serialised on it.
 *   - Pure C ABI: no C++ types or exceptions cross it. Link with -lxenbpf.
 */
#ifndef XENBPF_XENBPF_H
#define XENBPF_XENBPF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define XENBPF_API __attribute__((visibility("default")))
#else
#define XENBPF_API
#endif

/* Incremented when a function or structure of this header changes incompatibly. */
#define XENBPF_API_VERSION 1

/* Limits of the wire protocol (docs/offload-protocol.md). Requests over them fail with -E2BIG
 * before anything is sent. */
#define XENBPF_MAX_OBJECT_SIZE 65536u   /* bytes of an ELF object for xenbpf_load_elf */
#define XENBPF_MAX_INSNS 4096u          /* instructions for xenbpf_load_bytecode */
#define XENBPF_MAX_KEY_SIZE 512u        /* bytes of a map key */
#define XENBPF_MAX_VALUE_SIZE 32768u    /* bytes of a map value (per-CPU maps: all CPUs) */
#define XENBPF_MAX_MAPS 16u             /* maps one object may create */
#define XENBPF_NAME_MAX 256u            /* bytes of a program or map name, without the NUL */
#define XENBPF_LICENSE_MAX 128u         /* bytes of a license string, without the NUL */

/* Flags of xenbpf_update_elem, with the values of BPF_ANY, BPF_NOEXIST and BPF_EXIST. */
#define XENBPF_ANY 0u      /* create or replace */
#define XENBPF_NOEXIST 1u  /* create only: -EEXIST if the key is present */
#define XENBPF_EXIST 2u    /* replace only: -ENOENT if the key is absent */

/* The environment variable naming the channel when xenbpf_connect() is given NULL. */
#define XENBPF_CHANNEL_ENV "XENBPF_CHANNEL"
/* The default channel: the abstract Unix socket "@xenbpf" in the caller's network namespace
 * (and, on a Xen guest where nobody listens there, the vchan "vchan:data/xenbpf"). */
#define XENBPF_DEFAULT_CHANNEL "xenbpf"

/* One connection to bpfd. Opaque. */
struct xenbpf;

/* From <linux/bpf.h>; only pointers to it are used here, so that header is not needed. */
struct bpf_insn;

/* A map created by xenbpf_load_elf(), or described by xenbpf_map_info(). */
struct xenbpf_map_info {
  uint32_t id;          /* this connection's ID of the map */
  uint32_t type;        /* enum bpf_map_type */
  uint32_t key_size;    /* bytes every key must have */
  uint32_t value_size;  /* bytes every value has; per-CPU maps: round_up(size, 8) x CPUs */
  uint32_t max_entries;
  char name[XENBPF_NAME_MAX + 1]; /* as in the object (".rodata" for global data), NUL-ended */
};

/* What bpfd has counted for this guest (since dom0 registered it, across connections). */
struct xenbpf_stats {
  uint64_t packets;  /* frames to this guest's MAC run through its offloaded program */
  uint64_t bytes;    /* their bytes */
  uint64_t cpu_ns;   /* dom0 CPU time estimated for them: packets x cost_ps / 1000 */
  uint64_t cost_ps;  /* the per-packet cost used, in picoseconds */
  char method[XENBPF_NAME_MAX + 1]; /* how cost_ps was obtained, NUL-terminated */
};

/*
 * Connects to bpfd. `channel` names the channel: NULL means the environment variable
 * XENBPF_CHANNEL, or if that is unset or empty, XENBPF_DEFAULT_CHANNEL. On the netns platform a
 * channel is an abstract Unix socket name, with or without a leading '@' ("xenbpf", "@xenbpf").
 * On Xen, "vchan:" is the vchan bpfd (--xenstore) serves for this domain, published in XenStore
 * at data/xenbpf of the domain's home, and "vchan:PATH" one published at PATH. With neither a
 * channel nor the variable, the socket "xenbpf" is tried first and, if nobody listens there and
 * XenStore answers (a Xen domain), the vchan at data/xenbpf.
 *
 * Before returning, the connection is checked with one request, so a refused session is
 * reported here rather than by the first real call. On success stores a new handle in *out and
 * returns 0. On failure stores NULL and returns: -EINVAL (bad arguments or channel name),
 * -ECONNREFUSED or -ENOENT (no bpfd serves that channel in this namespace: not registered),
 * -EBUSY (another connection of this domain is open), -ETIMEDOUT, -EPROTONOSUPPORT (a vchan in
 * a library built without libxenvchan), -ENODEV (a vchan where XenStore is not reachable), or
 * another negative errno; xenbpf_errmsg(NULL) then says why.
 */
XENBPF_API int xenbpf_connect(const char *channel, struct xenbpf **out);

/*
 * Closes the connection and frees the handle; bpfd then unloads every program and map loaded
 * through it. NULL is ignored. No other thread may use the handle during or after this call.
 */
XENBPF_API void xenbpf_disconnect(struct xenbpf *h);

/*
 * The reason for the calling thread's most recent failed call on `h`, or "" if its most recent
 * call succeeded or it has made none. With h == NULL: the reason the calling thread's most recent
 * xenbpf_connect() failed, or for a call made with a NULL handle. The string stays valid until
 * the same thread calls a function of this library with the same handle (or NULL), or until
 * xenbpf_disconnect(h). Never returns NULL.
 */
XENBPF_API const char *xenbpf_errmsg(const struct xenbpf *h);

/*
 * A descriptor for poll()/epoll that becomes readable when bpfd ends the session on its own
 * (bpfd stopped, the domain was unregistered): between calls bpfd never sends anything else.
 * Only watch it; never read, write or close it. The next call then fails and xenbpf_errmsg()
 * says why. Over a vchan it is the event channel, which can also wake, rarely, for a
 * notification whose data a call already read: if the next call succeeds, the session is alive.
 * Returns -1 for NULL or a connection already found lost.
 */
XENBPF_API int xenbpf_fd(const struct xenbpf *h);

/*
 * How long each call waits for bpfd's reply (default 30000 ms; loading a large program may take
 * the kernel verifier a while). 0 restores the default. Returns 0 or -EINVAL.
 */
XENBPF_API int xenbpf_set_timeout(struct xenbpf *h, unsigned int timeout_ms);

/*
 * Loads the tc program `prog_name` of the ELF object `obj` (`len` bytes, at most
 * XENBPF_MAX_OBJECT_SIZE) in dom0 together with the object's maps, and attaches it for this
 * guest's traffic, replacing the program attached before (which stays loaded until unloaded).
 * prog_name NULL or "" picks the object's only tc program.
 *
 * Stores the program's ID in *prog_id. `n_maps` is in/out: on input the number of entries
 * `maps` has room for (may be 0 with maps NULL, or n_maps NULL for none); on success the number
 * of maps the object created. If that exceeds the room, only the first entries are filled, so
 * pass XENBPF_MAX_MAPS entries to learn every map.
 *
 * Returns 0, or: -EINVAL (arguments; not a BPF object; not a tc program; no program name given
 * and the object has several), -ENOENT (no program of that name), -E2BIG (over a limit),
 * -EDQUOT (over this guest's program, map or map-memory quota), -EACCES (refused by bpfd's
 * verifier, e.g. a tail call or a helper outside the allow-list), -ENOSPC (no dispatcher slot),
 * the kernel verifier's errno, or a connection error (-ECONNRESET, -ETIMEDOUT, -ENOTCONN). On
 * failure nothing stays loaded.
 */
XENBPF_API int xenbpf_load_elf(struct xenbpf *h, const void *obj, size_t len,
                               const char *prog_name, uint32_t *prog_id,
                               struct xenbpf_map_info *maps, size_t *n_maps);

/*
 * Loads `n` raw instructions (1..XENBPF_MAX_INSNS) as a program of `prog_type` (bpfd accepts
 * BPF_PROG_TYPE_SCHED_CLS, 3) under `license` (e.g. "GPL"), and attaches it like
 * xenbpf_load_elf(). The bytecode cannot reference maps. Stores the program's ID in *prog_id.
 * Returns 0 or the errors of xenbpf_load_elf().
 */
XENBPF_API int xenbpf_load_bytecode(struct xenbpf *h, const struct bpf_insn *insns, size_t n,
                                    uint32_t prog_type, const char *license, uint32_t *prog_id);

/*
 * Detaches the program if it is attached (this guest's traffic then reaches the guest again) and
 * unloads it with the maps its object created. Returns 0, -ENOENT (no such program on this
 * connection) or a connection error.
 */
XENBPF_API int xenbpf_unload(struct xenbpf *h, uint32_t prog_id);

/*
 * Describes map `map_id` into *info. Returns 0, -ENOENT (no such map on this connection) or a
 * connection error.
 */
XENBPF_API int xenbpf_map_info(struct xenbpf *h, uint32_t map_id, struct xenbpf_map_info *info);

/*
 * Copies the value stored under `key` in map `map_id` into `value`. key_size must be the map's
 * key size and value_size its value size (struct xenbpf_map_info). Returns 0, -ENOENT (no such
 * key, or no such map), -EINVAL (sizes), or a connection error; `value` is written only on
 * success.
 */
XENBPF_API int xenbpf_lookup_elem(struct xenbpf *h, uint32_t map_id, const void *key,
                                  size_t key_size, void *value, size_t value_size);

/*
 * Stores `value` under `key` in map `map_id`. `flags` is XENBPF_ANY, XENBPF_NOEXIST or
 * XENBPF_EXIST. Returns 0, -EEXIST / -ENOENT (the flags' condition failed; -ENOENT also for no
 * such map), -E2BIG (the map is full), -EINVAL (sizes, flags) or a connection error.
 */
XENBPF_API int xenbpf_update_elem(struct xenbpf *h, uint32_t map_id, const void *key,
                                  size_t key_size, const void *value, size_t value_size,
                                  uint64_t flags);

/*
 * Removes `key` from map `map_id`. Returns 0, -ENOENT (no such key or map), -EINVAL (key size;
 * arrays cannot delete) or a connection error.
 */
XENBPF_API int xenbpf_delete_elem(struct xenbpf *h, uint32_t map_id, const void *key,
                                  size_t key_size);

/* Reads what bpfd has counted for this guest into *stats. Returns 0 or a connection error. */
XENBPF_API int xenbpf_stats(struct xenbpf *h, struct xenbpf_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* XENBPF_XENBPF_H */
