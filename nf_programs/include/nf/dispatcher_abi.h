/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * ABI of dispatcher.bpf.c, shared with the C++ loader (nfb/bpf/dispatcher.h,
 * nfb/bpf/dispatcher_table.h), which static_asserts the layout so a change here that is not
 * mirrored there breaks the build. The MAC table's encoding and its lookup are defined once, here,
 * as inline functions used by both the BPF program and user space.
 *
 * The MAC table (map mac_table) is an open-addressed hash table of DISPATCHER_TABLE_SIZE 64-bit
 * entries. A MAC may sit in one of two buckets, its primary or its secondary; the program probes
 * the primary, then the secondary, and compares the full MAC. User space (nfb::bpf::Dispatcher)
 * chooses the bucket and writes every entry with one atomic 64-bit store into the mmap()ed map, so
 * the program sees either the old or the new entry, never a mix of both. docs/nf-programs.md
 * describes how collisions are handled.
 */
#ifndef NF_DISPATCHER_ABI_H
#define NF_DISPATCHER_ABI_H

#include <linux/types.h>

/* Size of slot_progs and slot_stats: the most MACs the dispatcher serves at once. */
#define DISPATCHER_MAX_SLOTS 64

/* Buckets of the MAC table: 4096 for at most 64 MACs, so that a MAC rarely finds both of its
 * buckets taken (docs/nf-programs.md has the measured odds).
 */
#define DISPATCHER_TABLE_BITS 12
#define DISPATCHER_TABLE_SIZE (1U << DISPATCHER_TABLE_BITS)

/*
 * One bucket, one 64-bit word, read and written as a whole:
 *   bits  0-47  the MAC, packed by dispatcher_mac_value()
 *   bits 48-55  its slot (index into slot_progs and slot_stats, below DISPATCHER_MAX_SLOTS)
 *   bits 56-62  zero
 *   bit  63     in use; a free bucket is all zero (so no frame, not even one to
 *               00:00:00:00:00:00, matches it)
 */
#define DISPATCHER_ENTRY_IN_USE (1ULL << 63)
#define DISPATCHER_ENTRY_MAC_MASK 0xffffffffffffULL
#define DISPATCHER_ENTRY_SLOT_SHIFT 48
#define DISPATCHER_ENTRY_SLOT_MASK 0xffU

/* Fibonacci hashing: 2^64 divided by the golden ratio, odd. */
#define DISPATCHER_HASH_MULTIPLIER 0x9e3779b97f4a7c15ULL

/* Value of the single entry (key 0) of the ARRAY mac_table (BPF_F_MMAPABLE). */
struct dispatcher_mac_table {
	__u64 entries[DISPATCHER_TABLE_SIZE];
};

/* Value of the PERCPU_ARRAY slot_stats, one entry per slot; user space sums the CPUs. */
struct dispatcher_slot_counters {
	__u64 packets; /* frames whose destination MAC mapped to this slot */
	__u64 bytes; /* their length from the Ethernet header on (skb->len) */
};

#ifndef DISPATCHER_INLINE
#define DISPATCHER_INLINE static inline __attribute__((always_inline))
#endif

/*
 * A MAC as a 48-bit number: its first four bytes and its last two, each read as one integer in
 * the CPU's byte order. The program gets them with one 32-bit and one 16-bit load from the frame;
 * user space copies the same bytes (memcpy), so both agree on any host.
 */
DISPATCHER_INLINE __u64 dispatcher_mac_value(__u32 first4, __u16 last2)
{
	return (__u64)first4 | (__u64)last2 << 32;
}

/* The top DISPATCHER_TABLE_BITS bits of the hash: the bucket probed first. */
DISPATCHER_INLINE __u32 dispatcher_primary_bucket(__u64 mac)
{
	return (__u32)((mac * DISPATCHER_HASH_MULTIPLIER) >> (64 - DISPATCHER_TABLE_BITS));
}

/* The next DISPATCHER_TABLE_BITS bits: the bucket probed when the primary holds another MAC.
 * May equal the primary (then the MAC has one bucket only).
 */
DISPATCHER_INLINE __u32 dispatcher_secondary_bucket(__u64 mac)
{
	return (__u32)((mac * DISPATCHER_HASH_MULTIPLIER) >> (64 - 2 * DISPATCHER_TABLE_BITS)) &
	       (DISPATCHER_TABLE_SIZE - 1);
}

DISPATCHER_INLINE __u64 dispatcher_entry(__u64 mac, __u32 slot)
{
	return DISPATCHER_ENTRY_IN_USE |
	       (__u64)(slot & DISPATCHER_ENTRY_SLOT_MASK) << DISPATCHER_ENTRY_SLOT_SHIFT |
	       (mac & DISPATCHER_ENTRY_MAC_MASK);
}

DISPATCHER_INLINE int dispatcher_entry_matches(__u64 entry, __u64 mac)
{
	return (entry & (DISPATCHER_ENTRY_IN_USE | DISPATCHER_ENTRY_MAC_MASK)) ==
	       (mac | DISPATCHER_ENTRY_IN_USE);
}

DISPATCHER_INLINE __u32 dispatcher_entry_slot(__u64 entry)
{
	return (__u32)(entry >> DISPATCHER_ENTRY_SLOT_SHIFT) & DISPATCHER_ENTRY_SLOT_MASK;
}

/*
 * The dispatcher's lookup: 1 and the MAC's slot in *slot if `mac` is in the table, else 0. Reads
 * each probed bucket exactly once, with one 8-byte load, so MAC and slot come from the same
 * store. The primary bucket is read before the secondary: user space relies on that order when it
 * moves a MAC (only ever from its primary to its secondary bucket, the new copy first).
 */
DISPATCHER_INLINE int dispatcher_table_find(const struct dispatcher_mac_table *table, __u64 mac,
					    __u32 *slot)
{
	__u64 entry = *(const volatile __u64 *)&table->entries[dispatcher_primary_bucket(mac)];

	if (!dispatcher_entry_matches(entry, mac)) {
		entry = *(const volatile __u64 *)&table->entries[dispatcher_secondary_bucket(mac)];
		if (!dispatcher_entry_matches(entry, mac))
			return 0;
	}
	*slot = dispatcher_entry_slot(entry);
	return 1;
}

#endif /* NF_DISPATCHER_ABI_H */
