"""Document metadata as fields: title, 文号, issuing bodies, dates, validity, attachments, front matter.

Published files carry them in several places at once: markdown front matter (``标题: …``), a portal's
metadata block (``索取号`` / ``发布机构`` / ``文件编号`` … one per line, some values empty), the 文号 line under the
title, the signature and date at the end of a notice, an ``附件：1.… 2.…`` list. Each field keeps the line it
was read from (``quotes``) so an answer about it can cite the document.
"""

from __future__ import annotations

import re

DOC_NUMBER = re.compile(r"[\u4e00-\u9fff]{1,12}[〔\[［(（]\s*(?:19|20)\d{2}\s*[〕\]］)）]\s*第?\s*\d{1,4}\s*号")
DATE = re.compile(r"((?:19|20)\d{2})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日")
ISO_DATE = re.compile(r"((?:19|20)\d{2})[-./](\d{1,2})[-./](\d{1,2})")
ORG_SUFFIX = (r"(?:人民政府办公厅|人民政府办公室|人民政府|办公厅|办公室|委员会|管理委员会|管委会|街道办事处|办事处|"
              r"局|委|厅|部|署|院|中心|集团|公司|协会|联合会|总队|支队|分局)")
ORG = re.compile(rf"(?:中共)?[\u4e00-\u9fff（）()]{{2,30}}?{ORG_SUFFIX}")
FRONT_KEYS = {"标题": "title", "文号": "doc_number", "发布单位": "issuers", "发布日期": "published_date",
              "成文日期": "signed_date", "有效期": "validity", "状态": "status", "附件": "attachments"}
# A portal's block of labels, each followed by its value on the next line (or by the next label when empty).
PORTAL_LABELS = {"索取号": "", "载体类型": "", "发布机构": "issuers", "文件编号": "doc_number", "发文字号": "doc_number",
                 "记录形式": "", "公开类别": "", "关键词": "", "内容描述": "", "主题分类": "", "成文日期": "signed_date",
                 "发布日期": "published_date", "有效性": "status", "生效日期": "effective_date", "废止日期": "expiry_date",
                 "信息索引号": "", "发文机关": "issuers"}
VALIDITY = re.compile(r"(?:有效期(?:至|为|到)?[^。；\n]{1,40}|自(?:19|20)\d{2}年\d{1,2}月\d{1,2}日起(?:施行|实施|执行)[^。；\n]{0,30}|"
                      r"(?:于|至)(?:19|20)\d{2}年\d{1,2}月\d{1,2}日(?:废止|失效|止))")
ATTACHMENT_LINE = re.compile(r"^附件\s*[：:]\s*(.+)$")
NUMBERED = re.compile(r"^(\d{1,2})\s*[.、．]\s*(.+)$")
ALIAS = re.compile(r"[（(](?:以下)?简称[“\"《「]([^”\"》」]{1,20})[”\"》」][）)]")


def front_matter(raw: str) -> tuple[dict[str, str], int]:
    """The ``---`` … ``---`` block at the start of a markdown file: its keys and the line after it."""
    lines = raw.lstrip("\ufeff").split("\n")
    if not lines or lines[0].strip() != "---":
        return {}, 0
    out: dict[str, str] = {}
    for i, line in enumerate(lines[1:60], 1):
        if line.strip() == "---":
            return out, i + 1
        m = re.match(r"^\s*([^:：\s][^:：]{0,15})\s*[:：]\s*(.*)$", line)
        if m:
            out[m.group(1).strip()] = m.group(2).strip().strip("'\"")
    return {}, 0


def split_issuers(text: str) -> list[str]:
    """'上海市规划和自然资源局上海市住房和城乡建设管理委员会' → both bodies; separators (、 空格) split too."""
    parts = [p for p in re.split(r"[、，,；;\s]+", text.strip()) if p]
    out: list[str] = []
    for part in parts:
        found = [m.group(0) for m in ORG.finditer(part)]
        if found and "".join(found) == part:
            out += found
        else:
            out.append(part)
    return out


def _date(text: str) -> str:
    m = DATE.search(text) or ISO_DATE.search(text)
    if not m:
        return ""
    return f"{m.group(1)}-{int(m.group(2)):02d}-{int(m.group(3)):02d}"


def extract_metadata(text: str, front: dict[str, str] | None = None) -> dict:
    """Metadata fields of a normalized document text; `front` is its markdown front matter, if any."""
    meta: dict = {"quotes": {}}
    lines = [line.strip() for line in text.split("\n")]
    quotes = meta["quotes"]

    def put(field: str, value, quote: str) -> None:
        if value and not meta.get(field):
            meta[field] = value
            if quote and quote in text:
                quotes[field] = quote

    front = front or {}
    if front:
        meta["front_matter"] = dict(front)
    for key, field in FRONT_KEYS.items():
        value = front.get(key, "").strip()
        if not value:
            continue
        quote = next((line for line in lines if line.startswith(key) and value[:10] in line), "")
        if field == "issuers":
            put(field, split_issuers(value), quote)
        elif field in ("published_date", "signed_date"):
            put(field, _date(value) or value, quote)
        elif field == "attachments":
            put(field, [v.strip() for v in value.split("|") if v.strip()], quote)
        else:
            put(field, value, quote)
    _portal_block(lines, put)
    title_line = next((line.lstrip("#").strip() for line in lines if line.startswith("# ")), "")
    lead = _lead_title(lines)
    if lead:
        put("title", lead[0], lead[1])  # the title printed above the first heading ("一、回顾与总结" is a section)
    put("title", title_line or next((line.strip("| ") for line in lines if re.search(r"[\u4e00-\u9fff]{2}", line)),
                                    ""), title_line)
    printed = [(m.group(0), line) for line in lines[:80] for m in [DOC_NUMBER.search(line)]
               if m and len(line) <= 40 and not line.startswith(tuple(FRONT_KEYS))]
    if printed:
        number, line = printed[0]
        put("doc_number", number, line)
        # "〔2022〕" in the listing, "[2022]" under the title: both are how this document is cited.
        forms = {re.sub(r"\s", "", n): n for n, _ in printed}
        forms.setdefault(re.sub(r"\s", "", meta["doc_number"]), meta["doc_number"])
        if len(forms) > 1:
            meta["doc_number_variants"] = sorted(forms.values())
    _signature(lines, put, meta)
    m = VALIDITY.search(text)
    if m:
        put("validity", m.group(0), m.group(0))
    attachments = _attachments(lines)
    if attachments:
        meta["attachment_titles"] = [a for a, _ in attachments]
        quotes.setdefault("attachment_titles", attachments[0][1])
        meta["attachment_lines"] = [line for _, line in attachments]
    return meta


def _portal_block(lines: list[str], put) -> None:
    for i, line in enumerate(lines[:80]):
        field = PORTAL_LABELS.get(line)
        if field is None or i + 1 >= len(lines):
            continue
        value = lines[i + 1]
        if not value or value in PORTAL_LABELS:
            continue  # an empty field: the next line is the next label
        if field == "issuers":
            put(field, split_issuers(value), value)
        elif field.endswith("_date"):
            put(field, _date(value) or value, value)
        elif field:
            put(field, value, value)


def _signature(lines: list[str], put, meta: dict) -> None:
    """The issuing body printed over the date at the end of the covering notice, and that date."""
    for i, line in enumerate(lines):
        if not re.fullmatch(r"(?:19|20)\d{2}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日", line):
            continue
        above = [x for x in lines[max(0, i - 4):i] if x]
        # The signature block (bodies over the date) is what a reader checks; quote it whole.
        block = "\n".join(lines[max(0, i - 4):i + 1]).strip("\n")
        if above:
            first = block.find(above[-1])
            block = block[first:] if first >= 0 else line
        put("signed_date", _date(line), block if above and re.search(ORG_SUFFIX + r"$", above[-1]) else line)
        if above and len(above[-1]) <= 60 and re.search(ORG_SUFFIX + r"$", above[-1]):
            bodies = split_issuers(above[-1])
            if len(above) >= 2 and len(above[-2]) <= 60 and re.search(ORG_SUFFIX + r"$", above[-2]):
                bodies = split_issuers(above[-2]) + bodies  # several bodies, one per line
            # The bodies printed over the date issued it; a portal's 发布单位 may abbreviate ("区政府") or
            # name the parent body: keep it beside them.
            if meta.get("issuers") and meta["issuers"] != bodies:
                meta["issuers_listed"] = meta["issuers"]
            meta["issuers"] = bodies
            meta["quotes"]["issuers"] = block
        return


def _lead_title(lines: list[str]) -> tuple[str, str] | None:
    """"民用爆炸物品行业发展规划 ⏎ （2016-2020年）" above the first "# " heading: the document's own title, with
    its period line. None when the text starts with a heading or with prose."""
    body = [line.strip() for line in lines if line.strip()][:3]
    if not body or body[0].startswith("#") or len(body[0]) > 60 or re.search(r"[。，；:：|]", body[0]):
        return None
    if not re.search(r"规划|计划|方案|纲要|意见|办法|通知|细则|要点|报告", body[0]):
        return None
    title = body[0]
    if len(body) > 1 and re.fullmatch(r"[（(][^（）()]{4,20}[）)]", body[1]):
        title += body[1]
    return title, body[0]


def _attachments(lines: list[str]) -> list[tuple[str, str]]:
    """Titles in an "附件：1.… ⏎ 2.…" list (or a single "附件：…"), each with its line."""
    for i, line in enumerate(lines):
        m = ATTACHMENT_LINE.match(line) or re.match(r"^附件\s*[：:]\s*()$", line)
        if not m or m.group(1).startswith("http"):
            continue
        first = m.group(1).strip()
        items: list[tuple[str, str]] = []
        n = NUMBERED.match(first)
        if first:
            items.append(((n.group(2) if n else first).strip(), line))
        if n or not first:  # "附件：" alone on its line, the numbered titles below it
            for nxt in lines[i + 1: i + 12]:
                if not nxt:
                    continue
                k = NUMBERED.match(nxt)
                if not k or len(nxt) > 80:
                    break
                items.append((k.group(2).strip(), nxt))
        if items:
            return items
    return []


def extract_aliases(text: str) -> dict[str, str]:
    """Short names a document defines: "…临港新片区（以下简称“新片区”）" → {"新片区": "…临港新片区"}."""
    out: dict[str, str] = {}
    for m in ALIAS.finditer(text):
        short = m.group(1).strip()
        before = text[max(0, m.start() - 60): m.start()]
        if before.endswith(("》", "”")):
            close = before[-1]
            opening = "《" if close == "》" else "“"
            start = before.rfind(opening)
            full = before[start + 1: -1] if start >= 0 else ""
        else:
            full = re.split(r"[，。；：！？\n]", before)[-1]
            full = re.sub(r"^(?:(?:将|把|对|为|在|是|和|与|及|以|由|按|其|该|成立|设立|建立|组建|制定|编制|印发|开展|"
                          r"实施|推进|下设)+)", "", full)
            tail = re.split(r"(?:内容是|主要是|就是|即|是)", full)[-1]
            if len(tail) >= 4 and tail != full:
                full = tail  # "综合整治内容是“三调”存量违法用地大清查数据库": the name is after 是
        full = full.strip()
        if 2 <= len(full) <= 60 and short != full:
            out.setdefault(short, full)
    return out
