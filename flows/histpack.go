package flows

// A closed connection's compact record (shut) keeps its History in 9 bytes
// instead of 64 when that holds it exactly, as it does for nearly every
// connection: a histWord with up to histInline letters, and a byte with both
// endpoint states and closedThenReset. The rest follows from the letters and
// from the record: the once-per-kind bits are the kinds whose letters appear
// in that direction, no retransmission or zero window was counted (no T or
// W), and the last SYN, FIN and RST sequence numbers are the side's ISN,
// SND.NXT − 1 and latest RST's seq (0 for a kind it never sent). Any other
// history, with its TTLs, is kept whole in a shutExt, which the histWord
// then names.

// histWord holds up to histInline letters, 5 bits each from bit 0 (codes
// in histLetters), and their count in the top 4 bits; the count histExt
// marks a history kept in a shutExt, whose ref is in the low 32 bits.
type histWord uint64

const (
	histInline = 12 // letters a histWord holds: 12 × 5 bits and the count
	histExt    = 15 // the count of a histWord that names a shutExt
	histShift  = 60 // where the count starts
)

// histLetters are the letters by code, 0 for none: '^', then the client's
// and the server's letters (upper and lower case).
var histLetters = [...]byte{0, '^',
	'S', 'H', 'A', 'D', 'F', 'R', 'T', 'W', 'I', 'Q',
	's', 'h', 'a', 'd', 'f', 'r', 't', 'w', 'i', 'q'}

// histKinds are the once-per-kind bits (History.seen) that the letters of
// the same index in histLetters, less 2, stand for: S and H for SYN, and so on.
var histKinds = [...]uint8{histSYN, histSYN, histACK, histData, histFIN, histRST, 0, 0, histFINRST, histMulti}

// shutExt keeps what a histWord and its record cannot: a History whole and
// both sides' distinct TTLs.
type shutExt struct {
	hist History
	ttls [2][4]uint8
}

// ext reports whether w names a shutExt, and its ref.
func (w histWord) ext() (uint32, bool) { return uint32(w), w>>histShift == histExt }

// histCodes are the letters' codes in histLetters, 0 for none.
var histCodes = func() (c [256]uint8) {
	for i, l := range histLetters[1:] {
		c[l] = uint8(i + 1)
	}
	return c
}()

// packHistory returns h as a histWord and a state byte, and whether they
// hold it exactly, given side d's ISN, SND.NXT and latest RST's seq as the
// record keeps them.
func packHistory(h *History, isn, nxt, rstSeq [2]uint32) (histWord, uint8, bool) {
	if h.n > histInline {
		return 0, 0, false
	}
	w := histWord(h.n) << histShift
	for i, l := range h.letters[:h.n] {
		code := histWord(histCodes[l])
		if code == 0 {
			return 0, 0, false
		}
		w |= code << (5 * i)
	}
	st := uint8(h.state[Client]) | uint8(h.state[Server])<<3 | h.closedThenReset<<6
	return w, st, unpackHistory(w, st, isn, nxt, rstSeq) == *h
}

// unpackHistory returns the History that w and st hold (see packHistory).
func unpackHistory(w histWord, st uint8, isn, nxt, rstSeq [2]uint32) History {
	var h History
	h.n = uint8(w >> histShift)
	for i := range h.letters[:h.n] {
		code := int(w >> (5 * i) & 31)
		if code >= len(histLetters) {
			continue
		}
		h.letters[i] = histLetters[code]
		if code < 2 {
			continue
		}
		d, k := Client, code-2
		if k >= len(histKinds) {
			d, k = Server, k-len(histKinds)
		}
		h.seen[d] |= histKinds[k]
	}
	h.state = [2]EndpointState{EndpointState(st & 7), EndpointState(st >> 3 & 7)}
	h.closedThenReset = st >> 6
	for d := Client; d <= Server; d++ {
		if h.seen[d]&histSYN != 0 {
			h.lastSYN[d] = isn[d]
		}
		if h.seen[d]&histFIN != 0 {
			h.lastFIN[d] = nxt[d] - 1
		}
		if h.seen[d]&histRST != 0 {
			h.lastRST[d] = rstSeq[d]
		}
	}
	return h
}

// inlineTTLs reports whether side d's distinct TTLs are what a shut record
// restores without a shutExt: none, or only its latest.
func inlineTTLs(h *Half) bool {
	switch h.ttlN {
	case 0:
		return h.ttls == [4]uint8{}
	case 1:
		return h.ttls == [4]uint8{h.TTLLast}
	}
	return false
}

// shutStore is the table's compact closed records with the shutExts and
// the Keys (shutkey.go) some of them name.
type shutStore struct {
	stubs[shut, *shut]
	ext  slab[shutExt]
	keys slab[Key]
}

// drop unlinks record r and frees it, its shutExt and its Key.
func (st *shutStore) drop(r uint32) {
	s := st.at(r)
	if x, ok := s.hist.ext(); ok {
		st.ext.release(x)
	}
	if s.bits&shutKeyExt != 0 {
		st.keys.release(s.key.lo)
	}
	st.stubs.drop(r)
}

// keep records c's key in s (putKey), and its History and TTLs: in s
// itself when they fit (see packHistory and inlineTTLs), else in a
// shutExt.
func (st *shutStore) keep(s *shut, c *Conn) {
	st.putKey(s, &c.Key)
	w, hs, ok := packHistory(&c.Hist, s.isn, s.nxt, s.rstSeq)
	if ok && inlineTTLs(&c.Half[Client]) && inlineTTLs(&c.Half[Server]) {
		s.hist, s.hstate = w, hs
		return
	}
	r, x := st.ext.alloc()
	x.hist = c.Hist
	x.ttls = [2][4]uint8{c.Half[Client].ttls, c.Half[Server].ttls}
	s.hist = histExt<<histShift | histWord(r)
}

// restore sets c's History and TTLs from s (after shut.into).
func (st *shutStore) restore(s *shut, c *Conn) {
	if r, ok := s.hist.ext(); ok {
		x := st.ext.at(r)
		c.Hist = x.hist
		c.Half[Client].ttls, c.Half[Server].ttls = x.ttls[Client], x.ttls[Server]
		return
	}
	c.Hist = unpackHistory(s.hist, s.hstate, s.isn, s.nxt, s.rstSeq)
	for d := Client; d <= Server; d++ {
		if h := &c.Half[d]; h.ttlN == 1 {
			h.ttls = [4]uint8{h.TTLLast}
		}
	}
}
