/* sqlripple's interactive graph: cytoscape.js with the dagre layered layout.
 *
 * Reads the JSON data block #sqlripple-data; every text from the schema reaches the page
 * through textContent or cytoscape's canvas labels, never as markup. With `#selftest` in
 * the URL (optionally `&search=TERM&finding=N&select=NODE_ID&view=N`) it writes what it
 * rendered, and any error or alert seen, as JSON into #selftest for headless tests.
 */
(function () {
  "use strict";

  var FONT = "Helvetica Neue, Helvetica, Arial, sans-serif";
  var KIND_STYLE = {
    table: { shape: "barrel", fill: "#e8f1fb", border: "#2f6fb0" },
    trigger: { shape: "hexagon", fill: "#fff4e0", border: "#c77700" },
    "function": { shape: "round-rectangle", fill: "#f3ecfb", border: "#7a3fb5" },
    "do": { shape: "rectangle", fill: "#eeeeee", border: "#666666" },
    dynamic: { shape: "octagon", fill: "#fdecec", border: "#c62828" },
    unresolved: { shape: "rectangle", fill: "#fdecec", border: "#c62828" }
  };
  var EDGE_STYLE = {
    fires: { color: "#c77700", line: "solid", width: 1.6 },
    executes: { color: "#7a3fb5", line: "solid", width: 1.6 },
    writes: { color: "#2e7d32", line: "solid", width: 2.4 },
    reads: { color: "#8d8d8d", line: "dashed", width: 1.4 },
    calls: { color: "#7a3fb5", line: "dotted", width: 2 },
    fk_cascade: { color: "#2f6fb0", line: "dashed", width: 1.6 }
  };

  var data = JSON.parse(document.getElementById("sqlripple-data").textContent);
  var nodesById = {};
  var edgesById = {};
  var findingsOfNode = {};
  data.nodes.forEach(function (n) { nodesById[n.id] = n; });
  data.edges.forEach(function (e) { edgesById[e.id] = e; });
  data.findings.forEach(function (f, index) {
    f.nodes.forEach(function (id) {
      (findingsOfNode[id] = findingsOfNode[id] || []).push(index);
    });
  });

  var container = document.getElementById("cy");
  var details = document.getElementById("details");
  var searchBox = document.getElementById("graph-search");
  var searchStatus = document.getElementById("search-status");
  var viewSelect = document.getElementById("view-select");
  var currentView = 0;
  var pinned = null;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function clear(node) {
    while (node.firstChild) { node.removeChild(node.firstChild); }
  }

  var measure = document.createElement("canvas").getContext("2d");
  measure.font = "11.5px " + FONT;
  var labelMeasure = document.createElement("canvas").getContext("2d");
  labelMeasure.font = "9.5px " + FONT;

  var LINE = 17;

  // Long SQL names break after `_`, `.` or a space, into lines of about 18 characters:
  // narrower nodes keep a long cascade readable when the whole graph is fitted.
  function wrap(label) {
    var parts = label.match(/[^_. ]+[_. ]*|[_. ]+/g) || [label];
    var lines = [""];
    parts.forEach(function (part) {
      var last = lines.length - 1;
      if (lines[last] && (lines[last] + part).length > 16) { lines.push(part); }
      else { lines[last] += part; }
    });
    return lines.map(function (line) { return line.trim(); }).join("\n");
  }

  function nodeElement(id) {
    var n = nodesById[id];
    var label = wrap(n.label);
    var lines = label.split("\n");
    var width = Math.max.apply(null, lines.map(function (line) {
      return Math.ceil(measure.measureText(line).width);
    }));
    var extra = n.kind === "trigger" ? 40 : n.kind === "table" ? 28 : 24;
    return {
      group: "nodes",
      data: {
        id: id,
        kind: n.kind,
        label: label,
        w: Math.max(56, width + extra),
        h: 16 + LINE * lines.length
      }
    };
  }

  function edgeElement(id) {
    var e = edgesById[id];
    return {
      group: "edges",
      data: { id: id, source: e.source, target: e.target, kind: e.kind, label: e.label }
    };
  }

  function styles() {
    var list = [
      {
        selector: "node",
        style: {
          label: "data(label)",
          width: "data(w)",
          height: "data(h)",
          "font-size": 11.5,
          "font-family": FONT,
          color: "#1d1d1f",
          "text-valign": "center",
          "text-halign": "center",
          "text-wrap": "wrap",
          "line-height": 1.25,
          "border-width": 1.6
        }
      },
      {
        selector: "edge",
        style: {
          "curve-style": "bezier",
          "target-arrow-shape": "triangle",
          "arrow-scale": 0.9,
          label: "data(label)",
          "font-size": 9.5,
          "font-family": FONT,
          color: "#3a3a3c",
          "text-background-color": "#ffffff",
          "text-background-opacity": 0.9,
          "text-background-padding": 2,
          "text-background-shape": "round-rectangle",
          "min-zoomed-font-size": 8
        }
      }
    ];
    Object.keys(KIND_STYLE).forEach(function (kind) {
      var s = KIND_STYLE[kind];
      list.push({
        selector: 'node[kind = "' + kind + '"]',
        style: { shape: s.shape, "background-color": s.fill, "border-color": s.border }
      });
    });
    list.push({ selector: 'node[kind = "unresolved"]', style: { "border-style": "dashed" } });
    Object.keys(EDGE_STYLE).forEach(function (kind) {
      var s = EDGE_STYLE[kind];
      list.push({
        selector: 'edge[kind = "' + kind + '"]',
        style: {
          "line-color": s.color,
          "target-arrow-color": s.color,
          "line-style": s.line,
          width: s.width
        }
      });
    });
    list.push(
      { selector: ".faded", style: { opacity: 0.16 } },
      { selector: "node.hl", style: { "border-color": "#d32f2f", "border-width": 4 } },
      {
        selector: "edge.hl",
        style: {
          "line-color": "#d32f2f",
          "target-arrow-color": "#d32f2f",
          width: 4,
          "z-index": 10
        }
      },
      {
        selector: "node.match",
        style: { "underlay-color": "#ffc400", "underlay-opacity": 0.75, "underlay-padding": 7 }
      },
      { selector: "node:selected", style: { "border-color": "#111111", "border-width": 3.5 } },
      { selector: "edge:selected", style: { width: 4 } },
      { selector: ".hidden", style: { display: "none" } }
    );
    return list;
  }

  var cy = cytoscape({
    container: container,
    elements: [],
    style: styles(),
    minZoom: 0.1,
    maxZoom: 4,
    wheelSensitivity: 0.3,
    boxSelectionEnabled: false
  });

  var ROOT = "sqlripple-layout-root";

  function layout() {
    // Reads do not order a cascade: leaving them out of the ranking keeps the tables a
    // function reads from being pulled to its right.
    var ranked = cy.elements().not('edge[kind = "reads"]');
    // Entries (nodes nothing else leads to) hang from one heavy-weighted hidden root, so
    // the ranking puts all of them in the first column instead of next to their targets.
    var entries = ranked.nodes().filter(function (node) {
      return node.incomers("edge").not('[kind = "reads"]').length === 0;
    });
    var root = cy.add({ group: "nodes", data: { id: ROOT, kind: "root", label: "", w: 1, h: 1 } });
    var anchors = cy.add(entries.map(function (node) {
      return { group: "edges", data: { source: ROOT, target: node.id(), kind: "root" } };
    }));
    ranked.union(root).union(anchors).layout({
      name: "dagre",
      rankDir: "LR",
      nodeSep: 14,
      rankSep: rankSeparation(ranked),
      edgeSep: 10,
      ranker: "network-simplex",
      edgeWeight: function (edge) { return edge.data("kind") === "root" ? 50 : 1; },
      fit: false,
      animate: false
    }).run();
    cy.remove(root);
    fit(cy.elements());
  }

  // Room for the longest edge label in a small graph; compact in a large one, where edge
  // labels only show once zoomed in.
  function rankSeparation(elements) {
    if (elements.nodes().length > 12) { return 36; }
    var widest = 0;
    elements.edges().forEach(function (edge) {
      widest = Math.max(widest, labelMeasure.measureText(edge.data("label") || "").width);
    });
    return Math.min(200, Math.max(50, Math.ceil(widest) + 24));
  }

  // Fit, but never blow a small graph up beyond a comfortable reading size.
  function fit(elements) {
    cy.fit(elements, 32);
    if (cy.zoom() > 1.3) {
      cy.zoom(1.3);
      cy.center(elements);
    }
  }

  function showView(index) {
    currentView = index;
    var view = data.views[index];
    cy.elements().remove();
    cy.add(view.nodes.map(nodeElement).concat(view.edges.map(edgeElement)));
    applyFilters();
    layout();
    if (viewSelect) { viewSelect.value = String(index); }
    if (searchBox && searchBox.value) { search(searchBox.value); }
    if (view.finding !== null && view.finding !== undefined) {
      pinned = { kind: "finding", index: view.finding };
      highlight(data.findings[view.finding]);
    }
  }

  // ---- kind filters ------------------------------------------------------------------------

  var filters = {};
  function applyFilters() {
    Object.keys(filters).forEach(function (kind) {
      cy.nodes('[kind = "' + kind + '"]').toggleClass("hidden", !filters[kind].checked);
    });
  }

  document.querySelectorAll("#kind-filters input[data-kind]").forEach(function (box) {
    filters[box.dataset.kind] = box;
    box.addEventListener("change", applyFilters);
  });

  // ---- search --------------------------------------------------------------------------------

  function search(term) {
    cy.nodes().removeClass("match");
    var wanted = String(term || "").trim().toLowerCase();
    if (!wanted) {
      if (searchStatus) { searchStatus.textContent = ""; }
      return cy.collection();
    }
    var hits = cy.nodes().filter(function (node) {
      var n = nodesById[node.id()];
      return (n.name + "\n" + n.label).toLowerCase().indexOf(wanted) >= 0;
    });
    hits.addClass("match");
    if (searchStatus) {
      searchStatus.textContent = hits.length === 1 ? "1 match" : hits.length + " matches";
    }
    if (hits.length) { cy.fit(hits, 90); if (cy.zoom() > 1.6) { cy.zoom(1.6); cy.center(hits); } }
    return hits;
  }

  if (searchBox) {
    searchBox.addEventListener("input", function () { search(searchBox.value); });
    searchBox.addEventListener("keydown", function (event) {
      if (event.key === "Enter") {
        var hits = search(searchBox.value);
        if (hits.length) { cy.elements().unselect(); hits[0].select(); showNode(hits[0].id()); }
      } else if (event.key === "Escape") {
        searchBox.value = "";
        search("");
      }
    });
  }

  // ---- highlighting paths ------------------------------------------------------------------

  function highlight(set) {
    cy.elements().removeClass("hl faded");
    if (!set) { return; }
    var nodes = cy.collection();
    set.nodes.forEach(function (id) { nodes = nodes.union(cy.getElementById(id)); });
    var edges = cy.collection();
    set.edges.forEach(function (id) { edges = edges.union(cy.getElementById(id)); });
    cy.elements().addClass("faded");
    nodes.union(edges).removeClass("faded").addClass("hl");
  }

  function viewHolding(set) {
    for (var i = 0; i < data.views.length; i += 1) {
      var inside = data.views[i].nodes;
      if (set.nodes.every(function (id) { return inside.indexOf(id) >= 0; })) { return i; }
    }
    return currentView;
  }

  function setFor(kind, index) {
    return kind === "entry" ? data.entries[index] : data.findings[index];
  }

  function activate(kind, index, pin) {
    var set = setFor(kind, index);
    if (!set) { return; }
    var view = viewHolding(set);
    if (view !== currentView) { showView(view); }
    highlight(set);
    document.querySelectorAll("[data-finding], [data-entry]").forEach(function (item) {
      var mine = item.dataset[kind] === String(index);
      item.classList.toggle("active", mine && pin);
    });
    if (pin) {
      pinned = { kind: kind, index: index };
      var shown = cy.elements(".hl");
      if (shown.length) { fit(shown); }
    }
  }

  function release() {
    if (pinned) { highlight(setFor(pinned.kind, pinned.index)); } else { highlight(null); }
  }

  function bindHighlighters() {
    document.querySelectorAll("[data-finding], [data-entry]").forEach(function (item) {
      var kind = item.dataset.finding !== undefined ? "finding" : "entry";
      var index = Number(item.dataset[kind]);
      item.addEventListener("mouseenter", function () { activate(kind, index, false); });
      item.addEventListener("mouseleave", release);
      item.addEventListener("click", function () {
        if (pinned && pinned.kind === kind && pinned.index === index) {
          pinned = null;
          item.classList.remove("active");
          highlight(null);
        } else {
          activate(kind, index, true);
        }
      });
      item.tabIndex = 0;
      item.addEventListener("keydown", function (event) {
        if (event.key === "Enter") { item.click(); }
      });
    });
  }

  var findingList = document.getElementById("finding-list");
  if (findingList) {
    if (!data.findings.length) { findingList.appendChild(el("li", "empty", "No findings.")); }
    data.findings.forEach(function (f, index) {
      var item = el("li", "finding sev-" + f.severity);
      item.dataset.finding = String(index);
      var head = el("div", "finding-head");
      head.appendChild(el("span", "badge sev-" + f.severity, f.severity));
      head.appendChild(el("span", "code", f.code));
      head.appendChild(el("span", "rule", f.rule));
      item.appendChild(head);
      var message = el("div", "message", f.message);
      message.title = f.message;
      item.appendChild(message);
      item.appendChild(el("div", "where", f.location));
      findingList.appendChild(item);
    });
  }

  // ---- details -------------------------------------------------------------------------------

  function show(value) {
    if (value === null || value === undefined || value === "") { return "—"; }
    if (value === true) { return "yes"; }
    if (value === false) { return "no"; }
    if (Array.isArray(value)) { return value.length ? value.map(show).join(", ") : "—"; }
    if (typeof value === "object") {
      if (value.path !== undefined && value.line !== undefined) {
        return value.path + ":" + value.line;
      }
      return JSON.stringify(value);
    }
    return String(value);
  }

  function section(title) {
    details.appendChild(el("h4", null, title));
  }

  function attributeList(attrs, skip) {
    var list = el("dl", "attrs");
    Object.keys(attrs).sort().forEach(function (key) {
      if (skip.indexOf(key) >= 0) { return; }
      list.appendChild(el("dt", null, key.replace(/_/g, " ")));
      list.appendChild(el("dd", null, show(attrs[key])));
    });
    details.appendChild(list);
  }

  function findingLinks(indexes) {
    var list = el("ul", "links");
    indexes.forEach(function (index) {
      var f = data.findings[index];
      var item = el("li", "finding-link sev-" + f.severity);
      item.appendChild(el("span", "code", f.code + " " + f.rule));
      item.appendChild(document.createTextNode(" " + f.message));
      item.dataset.finding = String(index);
      item.addEventListener("click", function () { activate("finding", index, true); });
      list.appendChild(item);
    });
    details.appendChild(list);
  }

  function openDetails() {
    clear(details);
    details.classList.add("open");
    var close = el("button", "close", "×");
    close.type = "button";
    close.title = "Close";
    close.addEventListener("click", closeDetails);
    details.appendChild(close);
  }

  function closeDetails() {
    clear(details);
    details.classList.remove("open");
  }

  function showNode(id) {
    var n = nodesById[id];
    if (!n || !details) { return; }
    openDetails();
    var title = el("h3", "kind-" + n.kind);
    title.appendChild(el("span", "swatch swatch-" + n.kind));
    title.appendChild(document.createTextNode(n.name));
    details.appendChild(title);
    details.appendChild(el("p", "meta", n.kind + (n.location ? " · " + n.location : "")));
    attributeList(n.attrs, []);
    if (n.effects.length) {
      section("Effects and guards");
      var list = el("ul", "effects");
      n.effects.forEach(function (effect) {
        var item = el("li", "effect effect-" + effect.kind);
        item.appendChild(el("div", "summary", effect.summary));
        if (effect.guard) { item.appendChild(el("div", "guard", "if " + effect.guard)); }
        item.appendChild(el("div", "where", effect.location));
        list.appendChild(item);
      });
      details.appendChild(list);
    }
    if (findingsOfNode[id]) {
      section("Findings");
      findingLinks(findingsOfNode[id]);
    }
    if (n.excerpt) {
      section("Definition");
      details.appendChild(el("pre", "sql", n.excerpt));
    }
  }

  function showEdge(id) {
    var e = edgesById[id];
    if (!e || !details) { return; }
    openDetails();
    details.appendChild(el("h3", null, e.kind.replace("_", " ") + (e.label ? ": " + e.label : "")));
    details.appendChild(el("p", "meta", nodesById[e.source].name + " → " + nodesById[e.target].name));
    var source = nodesById[e.source];
    source.effects.forEach(function (effect) {
      if (effect.edge !== id) { return; }
      details.appendChild(el("div", "summary", effect.summary));
      if (effect.guard) { details.appendChild(el("div", "guard", "if " + effect.guard)); }
      details.appendChild(el("div", "where", effect.location));
    });
    attributeList(e.attrs, ["effect"]);
  }

  cy.on("tap", "node", function (event) { showNode(event.target.id()); });
  cy.on("tap", "edge", function (event) { showEdge(event.target.id()); });
  cy.on("tap", function (event) {
    if (event.target === cy && details) { closeDetails(); }
  });

  // ---- views, zoom, print --------------------------------------------------------------------

  if (viewSelect && data.views.length > 1) {
    data.views.forEach(function (view, index) {
      var option = el("option", null, view.title);
      option.value = String(index);
      viewSelect.appendChild(option);
    });
    viewSelect.hidden = false;
    viewSelect.addEventListener("change", function () { showView(Number(viewSelect.value)); });
  }

  function button(id, action) {
    var b = document.getElementById(id);
    if (b) { b.addEventListener("click", action); }
  }
  button("zoom-in", function () { cy.zoom({ level: cy.zoom() * 1.25, renderedPosition: centre() }); });
  button("zoom-out", function () { cy.zoom({ level: cy.zoom() / 1.25, renderedPosition: centre() }); });
  button("zoom-fit", function () { fit(cy.elements(":visible")); });

  function centre() {
    return { x: container.clientWidth / 2, y: container.clientHeight / 2 };
  }

  var printed = document.getElementById("graph-print");
  window.addEventListener("beforeprint", function () {
    if (printed && cy.elements().length) {
      printed.src = cy.png({ full: true, scale: 2, bg: "#ffffff" });
    }
  });

  bindHighlighters();
  showView(0);
  window.sqlrippleGraph = { cy: cy, search: search, activate: activate, showNode: showNode };

  // ---- self-test for headless browsers --------------------------------------------------------

  var probe = window.__sqlrippleProbe;
  if (!probe) { return; }

  function injected() {
    var found = [];
    document.querySelectorAll("*").forEach(function (node) {
      var tag = node.tagName.toLowerCase();
      if (["iframe", "object", "embed", "frame", "base", "form"].indexOf(tag) >= 0) {
        found.push(tag);
      }
      if (tag === "img" && node.id !== "graph-print") { found.push("img"); }
      if (tag === "script" && node.dataset.sqlripple === undefined) { found.push("script"); }
      Array.prototype.forEach.call(node.attributes, function (attribute) {
        if (/^on/i.test(attribute.name)) { found.push(tag + "[" + attribute.name + "]"); }
      });
    });
    return found;
  }

  function runSelftest() {
    var params = new URLSearchParams(
      (location.hash.replace(/^#/, "") + "&" + location.search.replace(/^\?/, ""))
    );
    if (params.has("view")) { showView(Number(params.get("view"))); }
    var result = {
      nodes: cy.nodes().length,
      edges: cy.edges().length,
      data_nodes: data.nodes.length,
      data_edges: data.edges.length,
      views: data.views.length,
      findings: data.findings.length,
      canvases: container.querySelectorAll("canvas").length,
      laid_out: cy.nodes().length < 2 || cy.nodes().boundingBox().w > 0
    };
    if (params.has("search")) {
      var hits = search(params.get("search"));
      result.search = {
        term: params.get("search"),
        matched: hits.map(function (n) { return n.id(); }),
        highlighted: cy.nodes(".match").map(function (n) { return n.id(); })
      };
    }
    if (params.has("finding")) {
      activate("finding", Number(params.get("finding")), true);
      result.finding = {
        index: Number(params.get("finding")),
        nodes: cy.nodes(".hl").map(function (n) { return n.id(); }).sort(),
        edges: cy.edges(".hl").map(function (e) { return e.id(); }).sort()
      };
    }
    if (params.has("select")) {
      showNode(params.get("select"));
      result.details = details ? details.textContent : null;
    }
    result.injected = injected();
    result.errors = probe.errors.slice();
    result.alerts = probe.alerts.slice();
    var out = document.getElementById("selftest");
    out.textContent = JSON.stringify(result);
    out.hidden = false;
    document.documentElement.setAttribute("data-selftest", "done");
  }

  setTimeout(runSelftest, 200);
})();
