package pcapwriter

import (
	"strconv"
	"time"
)

// Strftime formats t by the strftime(3) conversions tcpdump's -G names
// use: %Y %m %d %H %M %S %y %j %e %s %b %a %F %T %%, and leaves any other
// %x as it is.
func Strftime(pattern string, t time.Time) string {
	b := make([]byte, 0, len(pattern)+16)
	pad := func(v, w int) {
		s := strconv.Itoa(v)
		for i := len(s); i < w; i++ {
			b = append(b, '0')
		}
		b = append(b, s...)
	}
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		if c != '%' || i+1 == len(pattern) {
			b = append(b, c)
			continue
		}
		i++
		switch pattern[i] {
		case 'Y':
			pad(t.Year(), 4)
		case 'y':
			pad(t.Year()%100, 2)
		case 'm':
			pad(int(t.Month()), 2)
		case 'd':
			pad(t.Day(), 2)
		case 'e':
			if t.Day() < 10 {
				b = append(b, ' ')
			}
			pad(t.Day(), 1)
		case 'H':
			pad(t.Hour(), 2)
		case 'M':
			pad(t.Minute(), 2)
		case 'S':
			pad(t.Second(), 2)
		case 'j':
			pad(t.YearDay(), 3)
		case 's':
			b = strconv.AppendInt(b, t.Unix(), 10)
		case 'b':
			b = append(b, t.Month().String()[:3]...)
		case 'a':
			b = append(b, t.Weekday().String()[:3]...)
		case 'F':
			pad(t.Year(), 4)
			b = append(b, '-')
			pad(int(t.Month()), 2)
			b = append(b, '-')
			pad(t.Day(), 2)
		case 'T':
			pad(t.Hour(), 2)
			b = append(b, ':')
			pad(t.Minute(), 2)
			b = append(b, ':')
			pad(t.Second(), 2)
		case '%':
			b = append(b, '%')
		default:
			b = append(b, '%', pattern[i])
		}
	}
	return string(b)
}
