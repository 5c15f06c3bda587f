package flows

import "github.com/rstscope/rstscope/capture"

// History is a connection's record in the words of Zeek's conn.log: its
// history string (the letters of Zeek's base/protocols/conn/main.zeek, upper
// case for the client, the originator, lower case for the server) and what
// its conn_state needs, each endpoint's state in Zeek's TCP state machine
// (TCPSessionAdapter: INACTIVE, SYN_SENT, SYN_ACK_SENT, PARTIAL,
// ESTABLISHED, CLOSED, RESET). It lets a reader line a verdict up with
// Zeek's conn.log of the same capture.
//
// The letters recorded are Zeek's S (SYN), H (SYN-ACK), A (pure ACK), D
// (payload), F (FIN), R (RST), T (retransmitted payload), W (zero window),
// I (FIN with RST), Q (SYN with FIN or RST) and ^ (the first packet came
// from the server: Zeek flips the connection). A, D, I and Q are recorded
// once per direction; S, H, F and R again when the sequence number differs
// from the last of the same kind; T and W at the 1st, 10th, 100th …
// occurrence. Zeek's G (content gap) and C (bad checksum) are not recorded:
// rstscope neither reassembles whole streams nor verifies checksums.
//
// A History is 64 bytes and holds no pointer (see Conn). The zero value is
// the history of a connection that has seen no packet.
type History struct {
	// What every packet reads or writes first (Conn puts it beside its
	// own per-packet fields), the letters and the last sequence numbers after.
	seen    [2]uint8         // per direction: the once-per-kind bits, hist*
	state   [2]EndpointState // per direction
	rxmt    [2]uint16        // retransmissions, saturating
	zeroWin [2]uint16        // zero-window advertisements, saturating
	// closedThenReset has bit d set when side d went from CLOSED to RESET
	// (Zeek's prev_state), undone by the peer's FIN.
	closedThenReset uint8
	n               uint8
	letters         [historyCap]byte
	lastSYN         [2]uint32 // seq of the direction's last SYN or SYN-ACK
	lastFIN         [2]uint32 // seq + payload of its last FIN
	lastRST         [2]uint32 // seq of its last RST
}

// historyCap is how many letters a History keeps; Zeek's histories are
// nearly always shorter, and a longer one ends in '+'.
const historyCap = 23

// The once-per-kind bits of History.seen (Zeek's HIST_*_PKT).
const (
	histSYN uint8 = 1 << iota
	histFIN
	histRST
	histData
	histACK
	histFINRST
	histMulti
)

// EndpointState is one endpoint's state in Zeek's TCP state machine.
type EndpointState uint8

// The endpoint states, as Zeek names them (TCP_ENDPOINT_*).
const (
	StateInactive    EndpointState = iota // sent nothing yet
	StateSYNSent                          // sent a SYN
	StateSYNACKSent                       // sent a SYN-ACK without having seen a SYN
	StatePartial                          // first seen sending without a SYN
	StateEstablished                      // the handshake completed
	StateClosed                           // sent a FIN
	StateReset                            // sent a RST
)

// String returns the history letters, "" before the first packet.
func (h *History) String() string {
	if h.n > historyCap {
		return string(h.letters[:]) + "+"
	}
	return string(h.letters[:h.n])
}

// State returns side d's endpoint state.
func (h *History) State(d Side) EndpointState { return h.state[d] }

// add appends letter c, upper case for the client's direction.
func (h *History) add(d Side, c byte) {
	if d == Server {
		c += 'a' - 'A'
	}
	if h.n < historyCap {
		h.letters[h.n] = c
		h.n++
	} else {
		h.n = historyCap + 1 // overflowed: String adds '+'
	}
}

// once adds letter c the first time kind is seen in direction d, and
// reports whether kind had been seen before (Zeek's CheckHistory).
func (h *History) once(d Side, kind uint8, c byte) (before bool) {
	if h.seen[d]&kind != 0 {
		return true
	}
	h.seen[d] |= kind
	h.add(d, c)
	return false
}

// scaled adds letter c at the 1st, 10th, 100th … occurrence counted in n
// (Zeek's ScaledHistoryEntry, base 10).
func (h *History) scaled(d Side, n *uint16, c byte) {
	if *n == ^uint16(0) {
		return
	}
	*n++
	switch *n {
	case 1, 10, 100, 1000, 10000:
		h.add(d, c)
	}
}

// record notes segment p, sent by side d of c, before c records it. It
// follows Zeek's update_history, update_window and the retransmission test
// of update_last_seq.
func (h *History) record(c *Conn, d Side, p *capture.Packet) {
	if d == Server && c.Half[Server].Packets == 0 && c.Half[Client].Packets == 0 { // the server's own line first
		h.n, h.letters[0] = 1, '^'
	}
	f := p.Flags
	hf := f & (capture.SYN | capture.FIN | capture.RST)
	switch {
	case hf&(hf-1) != 0: // more than one of SYN, FIN, RST
		if hf == capture.FIN|capture.RST {
			h.once(d, histFINRST, 'I')
		} else {
			h.once(d, histMulti, 'Q')
		}
	case hf == capture.SYN:
		l := byte('S')
		if f&capture.ACK != 0 {
			l = 'H'
		}
		if h.once(d, histSYN, l) && p.Seq != h.lastSYN[d] {
			h.add(d, l)
		}
		h.lastSYN[d] = p.Seq
	case hf == capture.FIN:
		end := p.Seq + uint32(p.PayloadLen)
		if h.once(d, histFIN, 'F') && end != h.lastFIN[d] {
			h.add(d, 'F')
		}
		h.lastFIN[d] = end
	case hf == capture.RST:
		if h.once(d, histRST, 'R') && p.Seq != h.lastRST[d] {
			h.add(d, 'R')
		}
		h.lastRST[d] = p.Seq
	case p.PayloadLen > 0:
		h.once(d, histData, 'D')
	case f&capture.ACK != 0:
		h.once(d, histACK, 'A')
	}
	if p.Window == 0 && f&capture.RST == 0 && h.state[d.Peer()] != StateClosed && h.state[d] != StateReset {
		h.scaled(d, &h.zeroWin[d], 'W')
	}
	s := &c.Half[d]
	if p.PayloadLen > 0 && f&capture.RST == 0 && s.HasSeq && h.state[d] != StateReset &&
		!SeqLess(s.SndNxt, p.Seq+p.SeqLen()) {
		h.scaled(d, &h.rxmt[d], 'T')
	}
	h.step(d, p)
}

// step moves side d's endpoint state for segment p: Zeek's
// UpdateStateMachine, in the transitions a conn_state depends on.
func (h *History) step(d Side, p *capture.Packet) {
	f, s, peer := p.Flags, &h.state[d], &h.state[d.Peer()]
	switch *s {
	case StateInactive:
		h.stepInactive(d, p)
		if f&capture.FIN != 0 {
			*s = StateClosed
		}
		if f&capture.RST != 0 {
			*s = StateReset
		}
	case StateSYNSent, StateSYNACKSent:
		if f&capture.FIN != 0 {
			*s = StateClosed
		}
		if f&capture.RST != 0 {
			*s = StateReset
		}
	case StateEstablished, StatePartial:
		if f&capture.FIN != 0 && f&capture.RST == 0 {
			*s = StateClosed
			if *peer == StateReset && h.closedThenReset&(1<<d.Peer()) != 0 {
				*peer = StateClosed // the peer's FIN and RST were a normal close
			}
		}
		if f&capture.RST != 0 {
			*s = StateReset
		}
	case StateClosed:
		if f&capture.RST != 0 && *peer != StateClosed {
			*s = StateReset
			h.closedThenReset |= 1 << d
		}
	}
}

// stepInactive is the first state change of side d, by a segment without
// FIN or RST or with them (Zeek's UpdateInactiveState).
func (h *History) stepInactive(d Side, p *capture.Packet) {
	f, s, peer := p.Flags, &h.state[d], &h.state[d.Peer()]
	switch {
	case f&capture.SYN != 0 && d == Client && f&capture.ACK == 0:
		*s = StateSYNSent
	case f&capture.SYN != 0 && d == Client:
		*s = StateSYNACKSent
	case f&capture.SYN != 0:
		if *peer == StateSYNSent {
			*peer = StateEstablished
		}
		*s = StateEstablished
	case f&(capture.FIN|capture.RST) != 0:
	case d == Server && p.PayloadLen == 0 && *peer == StateSYNSent:
		// an ACK of the SYN before any SYN-ACK leaves the server inactive
	case f&capture.ACK != 0 && *peer == StateEstablished:
		*s = StateEstablished
	default:
		*s = StatePartial
	}
}

// ConnState is Zeek's conn_state of c as it stands (base/protocols/conn/
// main.zeek, function conn_state): "S0", "S1", "SF", "REJ", "S2", "S3",
// "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH", "SHR" or "OTH". The client is
// Zeek's originator.
func (c *Conn) ConnState() string {
	h := &c.Hist
	os, rs := h.state[Client], h.state[Server]
	oInactive := os == StateInactive || os == StatePartial
	rInactive := rs == StateInactive || rs == StatePartial
	switch {
	case rs == StateReset:
		switch {
		case os == StateSYNSent || os == StateSYNACKSent ||
			(os == StateReset && c.Half[Client].PayloadBytes == 0 && c.Half[Server].PayloadBytes == 0):
			return "REJ"
		case oInactive:
			return "RSTRH"
		}
		return "RSTR"
	case os == StateReset:
		if rInactive {
			if h.synThenRST() {
				return "RSTOS0"
			}
			return "OTH"
		}
		return "RSTO"
	case rs == StateClosed && os == StateClosed:
		return "SF"
	case os == StateClosed:
		if rInactive {
			return "SH"
		}
		return "S2"
	case rs == StateClosed:
		if oInactive {
			return "SHR"
		}
		return "S3"
	case os == StateSYNSent && rs == StateInactive:
		return "S0"
	case os == StateEstablished && rs == StateEstablished:
		return "S1"
	}
	return "OTH"
}

// synThenRST matches Zeek's /\^?S[^HAFGIQ]*R.*/: a SYN, then an
// originator RST with no handshake, ACK, FIN or oddity of the originator's
// between.
func (h *History) synThenRST() bool {
	l := h.letters[:min(int(h.n), historyCap)]
	if len(l) > 0 && l[0] == '^' {
		l = l[1:]
	}
	if len(l) == 0 || l[0] != 'S' {
		return false
	}
	for _, c := range l[1:] {
		switch c {
		case 'R':
			return true
		case 'H', 'A', 'F', 'G', 'I', 'Q':
			return false
		}
	}
	return false
}
