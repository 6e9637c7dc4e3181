// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * XenBPF dispatcher, attached once at the tc ingress of dom0's NIC: the destination MAC selects a
 * slot (one per guest), the packet is counted for that slot (the per-domain CPU accounting
 * multiplies these counts by a measured per-packet cost) and the slot's program is tail-called.
 * Frames for unknown MACs, and for known MACs whose slot holds no program, pass untouched to the
 * bridge, as if the dispatcher were not there.
 *
 * It runs for every frame the NIC receives, so the path is kept short (issue 3: under 15 ns on top
 * of the slot's program; docs/benchmarks.md):
 *  - the MAC is found in an array probed at (at most) two buckets picked by a multiplicative hash
 *    and compared in one 64-bit word, instead of a hash map (jhash, bucket lock-free walk, a
 *    function call);
 *  - each slot has its own tail-call site with a constant index, which the JIT turns into a
 *    direct jump patched when slot_progs changes, instead of one indirect jump through a
 *    retpoline (on this hardware the indirect tail call alone cost about 15 ns).
 */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

#include "nf/dispatcher_abi.h"
#include "nf/parsing.h"

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE); /* user space stores whole entries atomically */
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct dispatcher_mac_table);
} mac_table SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DISPATCHER_MAX_SLOTS);
	__type(key, __u32);
	__type(value, struct dispatcher_slot_counters);
} slot_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, DISPATCHER_MAX_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} slot_progs SEC(".maps");

/* One tail-call site per slot, each with its slot number as a constant (bpf_tail_call_static()
 * keeps clang from merging them into one call with a variable index).
 */
#define SLOT_CASE(n)                                     \
	case (n):                                        \
		bpf_tail_call_static(skb, &slot_progs, (n)); \
		break;
#define SLOT_CASES_8(n)                                                            \
	SLOT_CASE(n) SLOT_CASE((n) + 1) SLOT_CASE((n) + 2) SLOT_CASE((n) + 3)     \
	SLOT_CASE((n) + 4) SLOT_CASE((n) + 5) SLOT_CASE((n) + 6) SLOT_CASE((n) + 7)
_Static_assert(DISPATCHER_MAX_SLOTS == 64, "tail_call_slot() has one case per slot");

static __always_inline void tail_call_slot(struct __sk_buff *skb, __u32 slot)
{
	switch (slot) {
		SLOT_CASES_8(0)
		SLOT_CASES_8(8)
		SLOT_CASES_8(16)
		SLOT_CASES_8(24)
		SLOT_CASES_8(32)
		SLOT_CASES_8(40)
		SLOT_CASES_8(48)
		SLOT_CASES_8(56)
	}
}

SEC("tc")
int dispatcher_tc(struct __sk_buff *skb)
{
	void *data_end = (void *)(long)skb->data_end;
	void *data = (void *)(long)skb->data;
	struct hdr_cursor nh = { .pos = data };
	struct dispatcher_slot_counters *counters;
	const struct dispatcher_mac_table *table;
	struct ethhdr *eth;
	__u32 zero = 0;
	__u32 slot;
	__u64 mac;

	/* At tc ingress the Ethernet header is always linear (eth_type_trans pulled it), so no
	 * bpf_skb_pull_data() here; the slot's program pulls what it needs itself.
	 */
	if (parse_ethhdr(&nh, data_end, &eth) < 0)
		return TC_ACT_OK;
	table = bpf_map_lookup_elem(&mac_table, &zero);
	if (!table)
		return TC_ACT_OK;
	/* One 32-bit and one 16-bit load of h_dest (through `data`: struct ethhdr is packed, through
	 * it clang would load byte by byte). Unaligned packet loads are fine where the kernel has
	 * efficient unaligned access, which the tc hook's users here (x86-64, arm64) have.
	 */
	mac = dispatcher_mac_value(*(__u32 *)data, *(__u16 *)(data + 4));
	if (!dispatcher_table_find(table, mac, &slot))
		return TC_ACT_OK;
	counters = bpf_map_lookup_elem(&slot_stats, &slot);
	if (counters) {
		counters->packets++;
		counters->bytes += skb->len;
	}
	tail_call_slot(skb, slot);
	/* Only reached when the slot is empty (or the tail-call limit was hit). */
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
