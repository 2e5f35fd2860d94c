"""Generate small pages (run with resiliparse==0.14.5 installed: `python gen_rules_oracle.py OUT.jsonl`) exercising each resiliparse 0.14.5 main-content rule; record the oracle's output."""
import json, sys
from resiliparse.extract.html2text import extract_plain_text

P = "<p>Main paragraph with enough words to be content.</p>"
def deep(inner, d):
    return "<div>" * d + inner + "</div>" * d
def page(body):
    return "<!doctype html><html><head><title>t</title></head><body>" + body + "</body></html>"

cases = []
def add(name, body, raw=False):
    cases.append((name, body if raw else page(body)))

# Section 1: tags
for d in range(0, 6):
    add(f"footer_depth{d}", deep(P + "<footer>Footer text</footer><p>after</p>", d))
    add(f"footer_last_depth{d}", deep(P + "<footer>Footer text</footer>", d))
    add(f"ul_depth{d}", deep("<ul><li>one item</li><li>two items</li></ul>", d))
    add(f"ul_links_depth{d}", deep("<ul><li><a href=x>one link</a></li><li>two items here</li></ul>", d))
    add(f"article_links_depth{d}", deep("<article><a href=x>teaser link text</a> short</article>" + P, d))
    add(f"div_links_depth{d}", deep("<div><a href=x>link one</a> <a href=y>link two</a> x</div>" + P, d))
    add(f"div_cls_links_depth{d}", deep("<div class=foo><a href=x>link one</a> <a href=y>link two</a> x</div>" + P, d))
add("footer_links", deep(P + "<footer><a href=x>Home</a> about us</footer><p>after</p>", 4))
add("footer_text_sibling", deep(P + "<div><footer>F</footer> trailing text</div><p>x</p>", 3))
for t in ["nav", "aside", "audio", "video", "time", "main", "h1", "header", "section", "article", "figure", "details"]:
    add(f"tag_{t}", deep(f"<{t}>Inside {t}</{t}>" + P, 3))
# Section 2: attributes
for a in ["hidden", "rel=author", "rel=icon", "rel=search", "rel=prev", "rel=next", "rel=tag", "rel=' tag '",
          "rel=nofollow", "itemprop=datePublished", "itemprop=author", "itemprop=url", "itemprop=' url'",
          "itemprop=name", "aria-hidden=true", "aria-hidden=' true '", "aria-hidden=false",
          "aria-expanded=false", "aria-expanded=true", "data-ad", "data-advertisement", "data-text-ad",
          "style='display:none'", "style='display: none'", "style='color:red; display:none'",
          "style='visibility:hidden;'", "style='display :none'", "role=main", "rel=main"]:
    for t in ["span", "div", "p"]:
        add(f"attr_{t}_{a}", deep(f"<{t} {a}>Attr text</{t}>" + P, 3))
# Roles (block only)
for r in ["alert", "banner", "checkbox", "comment", "complementary", "contentinfo", "dialog", "img", "menu",
          "menubar", "menuitem", "navigation", "presentation", "radio", "search", "searchbox", "separator",
          "tab", "toolbar", "tooltip", "article", " navigation ", "Navigation"]:
    for t in ["span", "div", "td"]:
        add(f"role_{t}_{r}", deep(f"<table><tr><td>cell</td></tr></table><{t} role='{r}'>Role text</{t}>" + P, 3))
# Section 3/4: classes and ids
words = ["article", "entry-content", "post-body", "story", "single-post", "main-content", "main_content",
         "nav", "navigation", "main-nav", "menu", "menu-item", "dropdown", "breadcrumbs", "links", "link-list",
         "sublinks", "trending", "related", "read-next", "more-stories", "header", "site-header", "wp-header-wrapper",
         "footer", "site-footer", "copyright", "cookie", "consent", "legal", "fcontainer", "post-meta", "entry-date",
         "byline", "dateline", "submitted-by", "metadata", "article-info", "sidebar", "left-sidebar", "one-third",
         "sticky-box", "search", "search-box", "searchbar", "skip", "skip-link", "next", "previous", "permalink",
         "pagination", "link-skip", "scroll-up", "hidden", "is-hidden", "display-none", "collapsed", "h-0",
         "nocontent", "expandable", "hidden-xs", "hidden-2xl", "modal", "popup", "wp-modal", "lightbox-box",
         "gallery", "carousel", "login", "sign-up", "account", "user-info", "ads", "ad", "advert", "ad_f00",
         "google-ad", "sponsored", "promoted", "paid", "banner", "widebanner", "donate", "social", "share",
         "sharedaddy", "syndication", "newsletter", "sharing", "follow", "email", "likes", "feedback",
         "engagement", "facebook", "twitter", "subscribe", "wa", "jp", "aptf-follow", "c-share-links",
         "social__icons", "mobile-share", "comments", "comment", "no-comments", "comment-list", "reply",
         "user-comments", "logo", "brand-logo", "site-logo", "print-only", "print", "Footer", "SIDEBAR",
         "article footer", "footer article", "content", "wrapper", "nav-wrapper", "post-tags", "header right"]
for w in words:
    for attr in ["class", "id"]:
        for t in ["div", "span", "a", "li", "td", "section"]:
            inner = f"<{t} {attr}='{w}'>Classed text</{t}>"
            if t == "li":
                inner = f"<ul><li>first</li>{inner}</ul>"
            if t == "td":
                inner = f"<table><tr>{inner}<td>other</td></tr></table>"
            for d in ([1, 4] if t == "div" else [4]):
                add(f"cls_{attr}_{t}_{w}_d{d}", deep(inner + P, d))
# ids only (landmarks)
for w in ["header", "footer", "head", "foot", "right", "page-footer", "wp_header", "sticky-foot", "righter"]:
    add(f"landmark_{w}", deep(f"<div id='{w}'>Landmark</div>" + P, 3))
# main content zone: an element matching two selectors counts twice; template content is not searched
add("zone_two_selectors_role", "<div class=article-body role=main>x</div><div>out</div>")
add("zone_two_selectors_cls", "<div class='article-body post-content'>x</div><div>out</div>")
add("zone_two_selectors_dup", "<div class='article-body ARTICLE-BODY'>x</div><div>out</div>")
add("zone_is_template", "x<template class='article-body widget'>x")
add("svg_tr_not_table", deep("<table><tr><td>c</td></tr></table><div><svg class=gallery><tr>x</tr></svg></div>" + P, 3), raw=True)
add("zone_in_template", "<template><div class=article-body>t</div></template><div>out</div>")
add("zone_svg", "<svg class=article-body><text>s</text></svg><div>out</div>")
add("template_link_density", deep("<div><template>" + "long template text " * 20 + "</template><a href=x>link</a> t</div>" + P, 6))
add("template_link_density2", deep("<div><template><a href=y>" + "long template link " * 20 + "</a></template><a href=x>link</a> plain text here ok</div>" + P, 6))
for sel in ["class=article-body", "class=articleBody", "class=ARTICLEBODY", "class=contentBody", "class='x article-text'",
            "class=main-content", "class=postcontent", "class=post-content", "class=single-post", "role=main",
            "role=MAIN", "class=post-content-x"]:
    add(f"zone_{sel}", "<div>Outside text</div>" + deep(f"<div {sel}><p>Zone text</p><footer>f</footer></div>", 2) + "<p>After</p>")
    add(f"zone2_{sel}", f"<div {sel}>One</div><div {sel}>Two</div>")
    add(f"zone_quirks_{sel}", f"<div>Outside</div><div {sel}><p>Zone text</p></div>", raw=True)
add("zone_body", "<body class=article-body><p>a</p><div>b</div></body>", raw=True)
# formatting
add("pua", deep("<p>Text <span>\ue001</span> more</p><p>\ue001</p><p>\u00b6</p><p>\u20ac</p><p>x\ue001</p>", 3))
add("pre", deep("<pre>  line1\n    line2\n</pre><p>x</p><ul><li><pre>a\n b</pre></li></ul>", 4))
add("br", deep("<p>a<br>b<br><br>c</p><div>d<br></div><br><hr>e", 3))
add("lists", deep("<ul><li>a<ul><li>b</li><li><p>c</p></li></ul></li><li></li><li>d</li></ul><ol><li>x</li><li>y<ol><li>z</li></ol></li></ol>", 4))
add("list_plain_li", deep("<li>orphan</li><li>two</li><p>x</p>", 4))
add("headings", deep("<h1>H1</h1>text<h2>H2</h2><h3>H3</h3><h5>H5</h5><h6>H6</h6><p>p</p>", 3))
add("table", deep("<table><tr><th>a</th><td>b</td></tr><tr><td>c<p>d</p></td><td></td></tr></table>after", 3))
add("whitespace", deep("<p>  a \n\t b  <b> c </b> d</p>   <span> e </span>  <div>\u00a0f\u00a0</div>", 3))
add("skipped", deep("<p>a<script>x</script><style>y</style><noscript>z</noscript><textarea>t</textarea><button>b</button><select><option>o</select><label>l</label><input value=v>c</p><template>tt</template><iframe>i</iframe>", 3))
add("alt", deep("<p>a<img alt='Alt'>b<area alt=' A2 '></p>", 3))
# script data: `<!--` escapes, `<script>` inside an escaped comment, unterminated cases
for i, sc in enumerate(["<!-- <script></script> --> x", "<!-- </script> <p>gone", "<!--> </script>",
                        "a<!-- b --> </script>", "<!-- <script> --> </script> <p>in script", "<!-- <scripts></script>",
                        "<!-- <script></SCRIPT > --> </script>", "<!-- <script>", "<!-- -> </script>", "<!-- --!> </script>"]):
    add(f"script_escape_{i}", "<p>a</p><script>" + sc + "</script><p>after</p>")
# misnested markup: active formatting elements re-opened after block boundaries, adoption agency
for i, h in enumerate(["<ul><li><a href=x>A<li>B</ul>", "<p><b>x<p>y", "<b>1<p>2</b>3</p>", "<a href=x>1<div>2</a>3</div>",
                       "<p><i><b>x</p>y</b>z</i>", "<a href=1>one<a href=2>two</a>", "<table><tr><td><b>x</td><td>y</b></td></tr></table>z",
                       "<b><table><tr><td>x</b>y</td></tr></table>z", "<div><nobr>a<nobr>b</nobr></div>",
                       "<p><em>" + "<b>" * 5 + "x</p>y", "<p>" + "<b class=c>" * 5 + "x</p>y",
                       "<div class=nav-links><a href=x>Home<div>Tail text after link</div></div>",
                       "<ul><li><a href=x>Item<li><a href=y>Item two</ul><p>plain</p>",
                       "<font color=red><p>a</font>b</p><p>c", "<table><b>x<tr><td>y</td></tr></table>",
                       "<s>a<div>b<s>c</div>d</s>", "<div><noscript><div>x</noscript>y</div>z<p>after</p>",
                       "<foo>a<bar>b</foo>c</bar>d<p>e", "<x-card><x-body><p>a</x-card><p>b", "<dialog><div>x</dialog>y",
                       "<section><span>a<div>b</section>c", "<table><tr><td>a</td></tr></tbody><h2>x</h2><p>y<table><tr><td>q</td></tr></table>z",
                       "<form><p><input name=s><button>Go</p></form><ul><li>a</li></ul>b<div>c</div>",
                       "<div><form>a</div><form><p>b</p></form>c", "<form><div>a</form>b</div>c", "<svg><g><path></g><text>t</text></svg>after"]):
    add(f"misnested_{i}", deep(h, 4))
# minimised from random pages: form in table mode, zone on a skipped element, adoption agency past step 3
for i, h in enumerate(['<table class="comment"><label class="sidebar"><form class="pagination"></label>x',
                       '<table class="foo author" id="site-header">x<form class="footer">x',
                       '<form class="related tags">x<label class="content wrapper"><table></form></table></label></form>x',
                       '<form id="next"><table></form><div>x<form>x',
                       '<label class="text article-body" id="share">x', '<ul id="foo"><noscript class="bar" role="main">x',
                       '<a href=x><b><em><b><b><noscript></a></noscript>x</em>news story',
                       '<a href=x><b><em><b><b><div></a></div>x</em>news story',
                       '<li class="byline"><p itemprop="author"><noscript class="skip meta"><li data-ad="1"></li>x</li>x',
                       '<li><p><noscript><li>y', '<dd><p><object><dt>y', '<ul><li><p>a<li>b</ul>']):
    add(f"minimised_{i}", h, raw=True)
    add(f"minimised_{i}_doctype", "<!doctype html>" + h, raw=True)
# input ending inside a tag
for i, tail in enumerate(['<img alt="Alt text" src="y', '<div class="x', '<p', '</p', '<a href=x>link</a', '<img alt=z']):
    add(f"eof_in_tag_{i}", "<body><ul><li>a</li><li>b " + tail, raw=True)
# parser edge cases (raw text, tables, lists, select, template, foreign content and its integration
# points, entities, …)
edge_cases = {
 'pre_nl': '<pre>\nfirst\n  second</pre><listing>\nL</listing><textarea>\nT</textarea>x',
 'table_text': '<table>loose text<tr><td>a</td></tr>more</table>after',
 'caption': '<table><caption>Cap <b>bold</caption><tr><td>c</td></tr></table>',
 'colgroup': '<table><colgroup><col></colgroup><thead><tr><th>h</th></tr></thead><tbody><tr><td>d</td></tr></tbody><tfoot><tr><td>f</td></tr></tfoot></table>',
 'dl': '<dl><dt>term<dd>def<dt>t2<dd>d2</dl>',
 'select': '<p>a<select><option>o1<option>o2<optgroup label=g><option>o3</select>b</p>',
 'template': '<div>a<template><p>hidden</p></template>b</div>',
 'xmp': '<xmp><b>raw</b></xmp>x',
 'plaintext': '<p>a</p><plaintext><b>x</b></p>y',
 'frameset': '<frameset><frame src=x></frameset>',
 'nested_lists': '<ol><li>a<ol><li>b</li></ol></li><li>c</li></ol><ul><li><ol><li>x</ol></ul>',
 'headings_in_li': '<ul><li><h3>T</h3>text</li><li><p>p1</p><p>p2</p></li></ul>',
 'br_in_li': '<ul><li>a<br>b</li></ul><p>x<br></p><p><br>y</p>',
 'entities': '<p>&amp;&nbsp;&lt;&copy;&#x1F600;&#128512;&bogus; &amp</p>',
 'nul': '<p>a\x00b</p>',
 'cr': '<p>a\r\nb\rc</p><pre>x\r\ny</pre>',
 'comment_weird': '<p>a<!-- x -- y -->b<!--->c<!---->d<!-- -!>e--!>f</p>',
 'cdata': '<p>a<![CDATA[x]]>b</p><svg><![CDATA[svgcdata]]></svg>',
 'doctype_late': '<p>a</p><!doctype html><p>b</p>',
 'body_attrs_twice': '<body class=a><p>x</p><body class=article-body><p>y</p>',
 'head_content_after': '<html><head></head><p>x</p></html><p>after html</p>',
 'math': '<p>E = <math><mi>m</mi><msup><mi>c</mi><mn>2</mn></msup></math> ok</p>',
 'svg_fo': '<div><svg><foreignObject><p>inside fo</p></foreignObject><text>svgtext</text></svg>after</div>',
 'svg_desc': '<svg><desc><div>d</div></desc></svg>z',
 'button_nested': '<button>a<button>b</button>c',
 'a_in_table': '<a href=x><table><tr><td>t</td></tr></table></a>tail',
 'image': '<p><image alt=IMG>x</p>',
 'ruby': '<p><ruby>漢<rp>(</rp><rt>kan</rt><rp>)</rp></ruby></p>',
 'pua_spans': '<p>a<i class=icon>\ue900</i>b</p>',
 'whitespace_only_blocks': '<div> </div><div>\n</div><p> </p>x',
 'hr': '<p>a</p><hr><p>b</p><hr/>c',
 'td_blocks': '<table><tr><td><p>a</p><p>b</p></td><td>c</td></tr><tr><td></td><td>d</td></tr></table>',
 'inline_block_mix': '<span>a<div>b</div>c</span>d',
 'deep_text': '<div>' * 40 + 'deep' + '</div>' * 40 + 'tail',
 'nobr': '<nobr>a<nobr>b</nobr>c</nobr>',
 'marquee': '<marquee><b>m</marquee>after',
 'object': '<object><param name=x><b>fallback</object>after',
 'label_input': '<label>L<input value=v></label><p>t</p>',
 'iframe_text': '<iframe><p>x</p></iframe>after',
 'noembed': '<noembed><p>x</p></noembed>after',
 'noframes': '<noframes><p>x</p></noframes>after',
 'style_in_body': '<p>a<style>p{}</style>b</p>',
 'title_in_body': '<p>a<title>T</title>b</p>',
 'meta_in_body': '<p>a<meta name=x>b<link rel=x>c</p>',
 'li_outside': '<li>x</li><li>y',
 'main_in_main': '<main><main>x</main></main>',
 'p_in_button': '<p>a<button><p>b</button>c',
 'svg_image': '<p>a<svg><image alt=SVGALT href=x></image></svg>b</p>',
 'math_cdata': '<p><math><mi><![CDATA[x<y]]></mi></math>z</p>',
 'svg_title_html': '<div><svg><title><p>in title</p></title><desc><b>d</b><div>dd</div></desc></svg>after</div>',
 'math_text_ip': '<p><math><mi><b>bold</b><div>blk</div></mi><mo>+</mo><mtext><span>t</span><mglyph>g</mglyph></mtext></math>z</p>',
 'math_annot': '<math><semantics><mi>x</mi><annotation-xml encoding="text/html"><div>h</div></annotation-xml><annotation-xml><div>n</div></annotation-xml></semantics></math>after',
 'math_annot_svg': '<math><annotation-xml><svg><desc><p>p</p></desc></svg></annotation-xml></math>z',
 'svg_fo_p_end': '<svg><foreignObject><div><p>a</div></p>b</foreignObject></svg>c<p>d',
 'svg_br_end': '<svg><g></br>x</g></svg>y',
 'svg_fo_table': '<table><tr><td><svg><foreignObject><table><tr><td>in</td></tr></table></foreignObject></svg></td></tr></table>out',
 'svg_p_end': '<svg><g></p>x</g></svg>y', 'math_br_end': '<p><math><mi>a</br>b</mi></math>c',
 'math_a_in_mi': '<ul><a href="#x"><math><mi><a rel="nofollow" href="y"></ul>x',
 'math_li_in_mi': '<ul><li class="toclevel-1"><math><mi><li></ul>x',
 'svg_style_not_special': '<div><svg><style>s{}</style><g><p>x</div>y',
 'uppercase': '<DIV CLASS="FOOTER">F</DIV><P>text</P>',
}
for name, body in edge_cases.items():
    add(f"edge_{name}", body, raw=True)
    add(f"edge_{name}_deep", "<!doctype html><body>" + deep(body, 4), raw=True)
add("nested_footer_in_article", "<div><article><p>a</p><footer>fa</footer></article><p>b</p></div>")

seen = set()
with open(sys.argv[1] if len(sys.argv) > 1 else "rules_oracle.jsonl", "w") as f:
    for name, html in cases:
        assert name not in seen, name
        seen.add(name)
        f.write(json.dumps({"name": name, "html": html,
                            "main": extract_plain_text(html, main_content=True),
                            "plain": extract_plain_text(html, main_content=False)}, ensure_ascii=False) + "\n")
print(len(cases))
