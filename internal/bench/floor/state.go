package main

import (
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// The state mode is the lean per-connection tracker the one-core target
// of docs/performance.md is held against: the decode mode plus, per
// connection, a record of the handshake times and, per direction, the
// packets, bytes, ISN, next sequence number, last ack, first and latest
// TTL, TTL changes, latest IP ID and its jumps, flags and times, and the
// first 64 request bytes; a record is deleted when its connection is reset
// or closed by both FINs and an ACK. Like every rung, it also counts the
// distinct 5-tuples in a map.

// stateDir is one direction of a stateFlow.
type stateDir struct {
	pkts, bytes   uint64
	isn, nextSeq  uint32
	lastAck       uint32
	firstTTL, ttl uint8
	ttlChanges    uint16
	lastID        uint16
	idJumps       uint16
	fin, rst, syn bool
	firstT, lastT int64
}

// stateFlow is the state mode's per-connection record.
type stateFlow struct {
	d                   [2]stateDir
	synT, synAckT, ackT int64
	client              int8 // -1 unknown, else the client's direction
	firstReq            [64]byte
	firstReqLen         uint8
	rstFrom             int8
}

func runState(r *pcapgo.Reader) (result, error) {
	var res result
	p := newParser()
	live := make(map[key]*stateFlow)
	all := make(map[key]struct{})
	for {
		data, ci, err := r.ZeroCopyReadPacketData()
		if err != nil {
			res.Conns = len(all)
			return res, readErr(err)
		}
		res.Packets++
		isTCP, v6 := p.decode(data)
		if !isTCP {
			continue
		}
		res.TCP++
		var (
			k   key
			di  int
			ttl uint8
			id  uint16
		)
		if v6 {
			k, di = makeKey(p.ip6.SrcIP, p.ip6.DstIP, p.tcp.SrcPort, p.tcp.DstPort)
			ttl = p.ip6.HopLimit
		} else {
			k, di = makeKey(p.ip4.SrcIP, p.ip4.DstIP, p.tcp.SrcPort, p.tcp.DstPort)
			ttl, id = p.ip4.TTL, p.ip4.Id
		}
		all[k] = struct{}{}
		fs := live[k]
		if fs == nil {
			fs = &stateFlow{client: -1, rstFrom: -1}
			live[k] = fs
		}
		if fs.update(&p.tcp, di, ttl, id, ci.Timestamp.UnixNano()) {
			delete(live, k)
		}
	}
}

// update records a segment sent in direction di at t, and reports whether
// it ends the connection: a RST, or an ACK after both FINs.
func (fs *stateFlow) update(tcp *layers.TCP, di int, ttl uint8, id uint16, t int64) (done bool) {
	payload := uint32(len(tcp.Payload))
	ds := &fs.d[di]
	if ds.pkts == 0 {
		ds.firstTTL, ds.firstT, ds.isn = ttl, t, tcp.Seq
	} else {
		if ttl != ds.ttl {
			ds.ttlChanges++
		}
		if id-ds.lastID > 64 {
			ds.idJumps++
		}
	}
	ds.pkts++
	ds.ttl, ds.lastID, ds.lastT = ttl, id, t
	ds.bytes += uint64(payload)
	end := tcp.Seq + payload
	if tcp.SYN || tcp.FIN {
		end++
	}
	if int32(end-ds.nextSeq) > 0 || ds.pkts == 1 {
		ds.nextSeq = end
	}
	if tcp.ACK {
		ds.lastAck = tcp.Ack
	}
	switch {
	case tcp.SYN && !tcp.ACK:
		fs.synT, fs.client, ds.syn = t, int8(di), true
	case tcp.SYN && tcp.ACK:
		fs.synAckT, ds.syn = t, true
		if fs.client < 0 {
			fs.client = int8(1 - di)
		}
	case fs.ackT == 0 && fs.synAckT != 0 && int(fs.client) == di:
		fs.ackT = t
	}
	if payload > 0 && fs.firstReqLen == 0 && (fs.client < 0 || int(fs.client) == di) {
		fs.firstReqLen = uint8(copy(fs.firstReq[:], tcp.Payload))
	}
	ds.fin = ds.fin || tcp.FIN
	if tcp.RST {
		ds.rst, fs.rstFrom = true, int8(di)
		return true
	}
	return fs.d[0].fin && fs.d[1].fin && tcp.ACK && payload == 0 && !tcp.FIN
}
