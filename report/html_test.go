package report

import (
	"bytes"
	"strings"
	"testing"

	"golang.org/x/net/html"

	"github.com/rstscope/rstscope/rstanalysis"
)

// TestHTMLParses parses the HTML report as a browser would and checks its
// parts: the sections, a timeline and a ladder per cause drawn in SVG, a
// Wireshark filter per event as code, and nothing fetched or run at view
// time. Text from the wire stays text.
func TestHTMLParses(t *testing.T) {
	vs := withLadders(fixture())
	vs[0].Request = `GET a.example/<script>alert(1)</script>`
	out := render(t, FormatHTML, Options{}, vs, fixtureSummary)
	doc, err := html.Parse(bytes.NewReader(out))
	if err != nil {
		t.Fatalf("html.Parse: %v", err)
	}
	ids := map[string]bool{}
	count := map[string]int{}
	var codes []string
	for n := range doc.Descendants() {
		if n.Type != html.ElementNode {
			continue
		}
		count[n.Data]++
		for _, a := range n.Attr {
			switch {
			case a.Key == "id":
				ids[a.Val] = true
			case a.Key == "class" && n.Data == "svg":
				count["svg."+a.Val]++
			case a.Key == "src", a.Key == "href" && !strings.HasPrefix(a.Val, "#"):
				t.Errorf("<%s %s=%q>: the page must not fetch anything", n.Data, a.Key, a.Val)
			}
		}
		if n.Data == "code" && n.FirstChild != nil {
			codes = append(codes, n.FirstChild.Data)
		}
		if n.Data == "td" && n.FirstChild != nil && n.FirstChild.Type == html.TextNode &&
			strings.Contains(n.FirstChild.Data, "<script>") {
			count["escaped request"]++
		}
	}
	for _, id := range []string{"timeline", "events", "causes", "next", "ladders", "servers", "capture"} {
		if !ids[id] {
			t.Errorf("no section %q", id)
		}
	}
	causes := map[rstanalysis.Cause]bool{}
	for _, v := range vs {
		causes[v.Cause] = true
	}
	checks := []struct {
		what      string
		got, want int
	}{
		{"<script> elements", count["script"], 0},
		{"timelines", count["svg.timeline"], 1},
		{"ladders drawn (the fixture has two)", count["svg.ladder"], 2},
		{"ladder headings, one per cause", count["h3"], len(causes)},
		{"escaped requests", count["escaped request"], 1},
		{"filters as code (7 events, 7 ladders)", len(codes), 14},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s: %d, want %d", c.what, c.got, c.want)
		}
	}
	for _, c := range codes {
		if !strings.Contains(c, "tcp.port==") {
			t.Errorf("code %q is not a Wireshark filter", c)
		}
	}
}
