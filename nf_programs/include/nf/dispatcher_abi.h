/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * ABI of dispatcher.bpf.c, shared with the C++ loader (nfb/bpf/dispatcher.h), which
 * static_asserts the layout so a change here that is not mirrored there breaks the build.
 */
#ifndef NF_DISPATCHER_ABI_H
#define NF_DISPATCHER_ABI_H

#include <linux/types.h>

/* Size of slot_progs and slot_stats; also the most MACs mac_to_slot holds (one per slot). */
#define DISPATCHER_MAX_SLOTS 64

/* Key of mac_to_slot: the destination MAC, padded to 8 bytes. The padding must be zero. */
struct dispatcher_mac_key {
	__u8 addr[6];
	__u8 pad[2];
};

/* Value of mac_to_slot: index into slot_progs and slot_stats, below DISPATCHER_MAX_SLOTS. */
typedef __u32 dispatcher_slot_t;

/* Value of the PERCPU_ARRAY slot_stats, one entry per slot; user space sums the CPUs. */
struct dispatcher_slot_counters {
	__u64 packets; /* frames whose destination MAC mapped to this slot */
	__u64 bytes; /* their length from the Ethernet header on (skb->len) */
};

#endif /* NF_DISPATCHER_ABI_H */
