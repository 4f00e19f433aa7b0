package master

import "io"

// A state's body is read ahead of its decoder: the transport decompresses a gzip body
// as it is read, a third of the time of decoding it (0.35 s of a 100k-task state's
// 1.2 s on one core), and on a goroutine of its own that runs beside the decoding.
const (
	aheadChunk  = 64 << 10
	aheadChunks = 4 // at most this much is read before the decoder wants it
)

type aheadRead struct {
	b   []byte
	err error
}

// readAhead reads r on a goroutine of its own, up to aheadChunks chunks before its
// reader. stop must be called when the reader is done, after closing r if a read of r
// may block.
type readAhead struct {
	full chan aheadRead
	free chan []byte
	quit chan struct{}
	done chan struct{}
	cur  []byte // what is left of the chunk being read
	last []byte // that chunk, to give back
	err  error
}

func newReadAhead(r io.Reader) *readAhead {
	ra := &readAhead{
		full: make(chan aheadRead, aheadChunks),
		free: make(chan []byte, aheadChunks),
		quit: make(chan struct{}),
		done: make(chan struct{}),
	}
	for range aheadChunks {
		ra.free <- make([]byte, aheadChunk)
	}
	go ra.fill(r)
	return ra
}

func (ra *readAhead) fill(r io.Reader) {
	defer close(ra.done)
	for {
		var b []byte
		select {
		case b = <-ra.free:
		case <-ra.quit:
			return
		}
		n, err := r.Read(b[:cap(b)])
		select {
		case ra.full <- aheadRead{b[:n], err}:
		case <-ra.quit:
			return
		}
		if err != nil {
			return
		}
	}
}

func (ra *readAhead) Read(p []byte) (int, error) {
	for len(ra.cur) == 0 {
		if ra.err != nil {
			return 0, ra.err
		}
		if ra.last != nil {
			ra.free <- ra.last
			ra.last = nil
		}
		c := <-ra.full
		ra.cur, ra.last, ra.err = c.b, c.b, c.err
	}
	n := copy(p, ra.cur)
	ra.cur = ra.cur[n:]
	return n, nil
}

// stop ends the reading goroutine and waits for it.
func (ra *readAhead) stop() {
	close(ra.quit)
	<-ra.done
}
