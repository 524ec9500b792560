package demo

import (
	"math/bits"
	"unicode/utf8"

	"github.com/aragora/aragora/internal/reply"
)

// runeCount is utf8.RuneCountInString: the length less the bytes after the
// first of each multi-byte rune. It skips ASCII 128, 32 or 8 bytes at a
// time, and the rest of s at once when its last 128 bytes are ASCII; every
// other byte counts as a range loop counts it (a valid sequence as one
// rune, each byte of an invalid one as one).
func runeCount(s string) int {
	const high = 0x8080808080808080
	extra := 0 // the bytes after the first of each multi-byte rune
	i := 0
	for {
		for ; i <= len(s)-128; i += 128 {
			t := s[i:]
			if (reply.Word(t[:8])|reply.Word(t[8:16])|reply.Word(t[16:24])|reply.Word(t[24:32])|
				reply.Word(t[32:40])|reply.Word(t[40:48])|reply.Word(t[48:56])|reply.Word(t[56:64])|
				reply.Word(t[64:72])|reply.Word(t[72:80])|reply.Word(t[80:88])|reply.Word(t[88:96])|
				reply.Word(t[96:104])|reply.Word(t[104:112])|reply.Word(t[112:120])|reply.Word(t[120:128]))&high != 0 {
				break
			}
		}
		if i > len(s)-128 && len(s) >= 128 {
			// The bytes from i on are among the last 128. (The 128-byte
			// test is written out twice: as a function it is too large to
			// inline, and the call cost 6 % more instructions per demo
			// debate.)
			t := s[len(s)-128:]
			if (reply.Word(t[:8])|reply.Word(t[8:16])|reply.Word(t[16:24])|reply.Word(t[24:32])|
				reply.Word(t[32:40])|reply.Word(t[40:48])|reply.Word(t[48:56])|reply.Word(t[56:64])|
				reply.Word(t[64:72])|reply.Word(t[72:80])|reply.Word(t[80:88])|reply.Word(t[88:96])|
				reply.Word(t[96:104])|reply.Word(t[104:112])|reply.Word(t[112:120])|reply.Word(t[120:128]))&high == 0 {
				return len(s) - extra
			}
		}
		for ; i <= len(s)-32; i += 32 {
			t := s[i:]
			if (reply.Word(t[:8])|reply.Word(t[8:16])|reply.Word(t[16:24])|reply.Word(t[24:32]))&high != 0 {
				break
			}
		}
		var m uint64
		for ; i <= len(s)-8; i += 8 {
			if m = reply.Word(s[i:]) & high; m != 0 {
				break
			}
		}
		if m == 0 { // fewer than 8 bytes left
			break
		}
		k := i + bits.TrailingZeros64(m)/8
		// A valid 2- or 3-byte sequence (lead C2–DF or E1–EC, then
		// continuation bytes) at once, else as the range loop reads it.
		if c := s[k]; c >= 0xC2 && c < 0xE0 && k+1 < len(s) && s[k+1]&0xC0 == 0x80 {
			extra++
			i = k + 2
		} else if c >= 0xE1 && c < 0xED && k+2 < len(s) && s[k+1]&0xC0 == 0x80 && s[k+2]&0xC0 == 0x80 {
			extra += 2
			i = k + 3
		} else {
			_, size := utf8.DecodeRuneInString(s[k:])
			extra += size - 1
			i = k + size
		}
	}
	for i < len(s) {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		_, size := utf8.DecodeRuneInString(s[i:])
		extra += size - 1
		i += size
	}
	return len(s) - extra
}
