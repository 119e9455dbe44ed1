/*
 * page.c — smd's status page at GET / (docs/interface.md "Cluster-wide view";
 * docs/operations.md shows it): for people, served by smd itself, with nothing from
 * elsewhere — inline HTML, CSS and script, no fonts, no libraries. The script reads
 * /api/v1/cluster, /api/v1/nodes and /api/v1/health from the same smd and renders the
 * nodes (role, health, last report), the busiest streams with their viewers, the cluster's
 * counters, and the failed plays of the last minutes as an inline SVG chart; it refreshes
 * itself every two report intervals. Everything shown is built with DOM text nodes, never
 * parsed as HTML, so ids from the network cannot inject markup.
 *
 * The page is a constant: the same bytes for everyone, no per-request work.
 */
#include <event2/buffer.h>
#include <event2/http.h>

#include "smd.h"

static const char page_html[] =
    "<!DOCTYPE html>\n"
    "<html lang='en'>\n"
    "<head>\n"
    "<meta charset='utf-8'>\n"
    "<meta name='viewport' content='width=device-width, initial-scale=1'>\n"
    "<title>livecluster</title>\n"
    "<style>\n"
    "body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;background:#f4f5f7;color:#1d2330}\n"
    "header{background:#1d2330;color:#fff;padding:12px 20px;display:flex;align-items:baseline;gap:16px;flex-wrap:wrap}\n"
    "header h1{font-size:18px;margin:0}\n"
    "header .sub{color:#aab2c4;font-size:13px}\n"
    "main{padding:16px 20px;display:grid;grid-template-columns:repeat(auto-fit,minmax(360px,1fr));gap:16px}\n"
    "section{background:#fff;border-radius:6px;box-shadow:0 1px 2px rgba(0,0,0,.12);padding:12px 16px}\n"
    "section.wide{grid-column:1/-1}\n"
    "h2{font-size:15px;margin:0 0 8px}\n"
    ".kpis{display:flex;gap:24px;flex-wrap:wrap}\n"
    ".kpi b{display:block;font-size:26px;font-variant-numeric:tabular-nums}\n"
    ".kpi span{color:#5b6475;font-size:12px}\n"
    "table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}\n"
    "th,td{text-align:left;padding:4px 8px;border-bottom:1px solid #e5e7ec;white-space:nowrap}\n"
    "th{color:#5b6475;font-weight:600;font-size:12px}\n"
    "td.n,th.n{text-align:right}\n"
    ".role{display:inline-block;padding:0 6px;border-radius:3px;font-size:12px;color:#fff}\n"
    ".role.spd{background:#3a6fd8}.role.epd{background:#2e9e6b}\n"
    ".stale{color:#b54708}\n"
    ".empty{color:#8a93a6}\n"
    "svg{width:100%;height:160px;display:block}\n"
    "#error{color:#b42318}\n"
    "</style>\n"
    "</head>\n"
    "<body>\n"
    "<header><h1>livecluster</h1><span class='sub' id='smd'>smd</span><span class='sub' id='updated'>loading…</span><span id='error'></span></header>\n"
    "<main>\n"
    "<section class='wide'><div class='kpis'>\n"
    "<div class='kpi'><b id='viewers'>–</b><span>viewers</span></div>\n"
    "<div class='kpi'><b id='nodes-spd'>–</b><span>origins (spd)</span></div>\n"
    "<div class='kpi'><b id='nodes-epd'>–</b><span>edges (epd)</span></div>\n"
    "<div class='kpi'><b id='plays'>–</b><span>plays</span></div>\n"
    "<div class='kpi'><b id='failrate'>–</b><span>failed plays, last minutes</span></div>\n"
    "<div class='kpi'><b id='start'>–</b><span>mean time to first frame</span></div>\n"
    "</div></section>\n"
    "<section class='wide'><h2>Nodes</h2><table id='nodes'><thead><tr><th>node</th><th>role</th><th>address</th><th class='n'>viewers</th><th class='n'>streams</th><th class='n'>connections</th><th class='n'>CPU s</th><th class='n'>RSS MiB</th><th class='n'>out kbit/s</th><th>upstream</th><th>last report</th></tr></thead><tbody></tbody></table></section>\n"
    "<section><h2>Busiest streams</h2><table id='streams'><thead><tr><th>stream</th><th class='n'>viewers</th></tr></thead><tbody></tbody></table></section>\n"
    "<section><h2>Failed plays (% of plays, per 5 s)</h2><svg id='chart' viewBox='0 0 600 160' preserveAspectRatio='none' role='img' aria-label='failure rate'></svg><div class='sub' id='chart-note'></div></section>\n"
    "</main>\n"
    "<script>\n"
    "'use strict';\n"
    "function $(id){return document.getElementById(id);}\n"
    "function cell(tr,text,cls){var td=document.createElement('td');td.textContent=text;if(cls)td.className=cls;tr.appendChild(td);return td;}\n"
    "function fill(tbody,rows,cols,emptyText){\n"
    "  tbody.textContent='';\n"
    "  if(!rows.length){var tr=document.createElement('tr');var td=cell(tr,emptyText,'empty');td.colSpan=cols;tbody.appendChild(tr);}\n"
    "  rows.forEach(function(r){tbody.appendChild(r);});\n"
    "}\n"
    "function ago(t,now){if(t===null||t===undefined)return 'never';var s=Math.max(0,now-t);return s+' s ago';}\n"
    "function nodeRow(n,now){\n"
    "  var tr=document.createElement('tr');tr.dataset.node=n.node_id;\n"
    "  var h=n.health||{};\n"
    "  cell(tr,n.node_id);\n"
    "  var r=cell(tr,'');var b=document.createElement('span');b.className='role '+(n.role||'spd');b.textContent=n.role||'spd';r.appendChild(b);\n"
    "  cell(tr,n.advertise);\n"
    "  cell(tr,n.health?String(h.viewers):'–','n viewers');\n"
    "  cell(tr,n.health?String(h.streams):String(n.streams),'n');\n"
    "  cell(tr,n.health?String(h.connections):'–','n');\n"
    "  cell(tr,n.health?h.cpu_seconds.toFixed(1):'–','n');\n"
    "  cell(tr,n.health?(h.rss_bytes/1048576).toFixed(1):'–','n');\n"
    "  cell(tr,n.health?String(h.out_kbps):'–','n');\n"
    "  cell(tr,h.upstream||'');\n"
    "  var lr=cell(tr,n.reports===false?'does not report':ago(n.last_report,now));\n"
    "  if(n.reports&&!n.fresh)lr.className='stale';\n"
    "  return tr;\n"
    "}\n"
    "function streamRow(s){var tr=document.createElement('tr');tr.dataset.stream=s.id;cell(tr,s.id);cell(tr,String(s.viewers),'n viewers');return tr;}\n"
    "function failSum(f){var t=0;for(var k in f)t+=f[k];return t;}\n"
    "function chart(history){\n"
    "  var svg=$('chart');var W=600,H=160,pad=4;var pts=[];\n"
    "  for(var i=1;i<history.length;i++){\n"
    "    var a=history[i-1],b=history[i];var dr=b.requests-a.requests,df=b.failures-a.failures;\n"
    "    pts.push({t:b.t,rate:dr>0?Math.min(100,100*df/dr):(df>0?100:0),plays:dr});\n"
    "  }\n"
    "  var ns='http://www.w3.org/2000/svg';svg.textContent='';\n"
    "  var max=5;pts.forEach(function(p){if(p.rate>max)max=p.rate;});\n"
    "  for(var g=0;g<=4;g++){var y=pad+(H-2*pad)*g/4;var l=document.createElementNS(ns,'line');l.setAttribute('x1',0);l.setAttribute('x2',W);l.setAttribute('y1',y);l.setAttribute('y2',y);l.setAttribute('stroke','#e5e7ec');svg.appendChild(l);}\n"
    "  if(pts.length){\n"
    "    var step=W/Math.max(1,pts.length);\n"
    "    var d=pts.map(function(p,i){var x=i*step+step/2;var y=H-pad-(H-2*pad)*p.rate/max;return (i?'L':'M')+x.toFixed(1)+' '+y.toFixed(1);}).join(' ');\n"
    "    var path=document.createElementNS(ns,'path');path.setAttribute('d',d);path.setAttribute('fill','none');path.setAttribute('stroke','#d92d20');path.setAttribute('stroke-width','2');svg.appendChild(path);\n"
    "  }\n"
    "  var mins=Math.round(pts.length*5/60);\n"
    "  $('chart-note').textContent=pts.length?('last '+(mins||1)+' min; top of the chart: '+max.toFixed(0)+' %'):'collecting…';\n"
    "  var dr2=0,df2=0;if(history.length>1){var a2=history[Math.max(0,history.length-13)],b2=history[history.length-1];dr2=b2.requests-a2.requests;df2=b2.failures-a2.failures;}\n"
    "  return dr2>0?(100*df2/dr2).toFixed(1)+' %':(df2>0?'100 %':'0 %');\n"
    "}\n"
    "function render(c,nodes){\n"
    "  $('viewers').textContent=String(c.viewers);\n"
    "  $('nodes-spd').textContent=String(c.nodes.spd);\n"
    "  $('nodes-epd').textContent=String(c.nodes.epd);\n"
    "  $('plays').textContent=String(c.play_requests);\n"
    "  $('start').textContent=c.play_start.count?(1000*c.play_start.sum_seconds/c.play_start.count).toFixed(0)+' ms':'–';\n"
    "  $('failrate').textContent=chart(c.history||[]);\n"
    "  fill($('nodes').tBodies[0],nodes.map(function(n){return nodeRow(n,c.time);}),11,'no nodes');\n"
    "  fill($('streams').tBodies[0],(c.top||[]).map(streamRow),2,'no viewers');\n"
    "  $('updated').textContent='updated '+new Date(c.time*1000).toLocaleTimeString();\n"
    "}\n"
    "var period=2000;\n"
    "function refresh(){\n"
    "  Promise.all([fetch('api/v1/cluster',{cache:'no-store'}).then(function(r){return r.json();}),\n"
    "               fetch('api/v1/nodes',{cache:'no-store'}).then(function(r){return r.json();}),\n"
    "               fetch('api/v1/health',{cache:'no-store'}).then(function(r){return r.json();})])\n"
    "  .then(function(v){$('error').textContent='';$('smd').textContent='smd '+v[2].node_id;render(v[0],v[1].nodes||[]);\n"
    "        period=Math.max(1000,2*(v[0].report_interval_ms||1000));})\n"
    "  .catch(function(e){$('error').textContent='cannot reach smd: '+e;})\n"
    "  .then(function(){setTimeout(refresh,period);});\n"
    "}\n"
    "refresh();\n"
    "</script>\n"
    "</body>\n"
    "</html>\n";

void smd_page_serve(struct evhttp_request *req, void *reg)
{
    struct evkeyvalq *h = evhttp_request_get_output_headers(req);
    struct evbuffer *out = evbuffer_new();

    (void)reg;
    if (out == NULL) {
        evhttp_send_error(req, 500, "Internal Server Error");
        return;
    }
    evbuffer_add_reference(out, page_html, sizeof page_html - 1, NULL, NULL);
    evhttp_add_header(h, "Content-Type", "text/html; charset=utf-8");
    evhttp_add_header(h, "Cache-Control", "no-store");
    /* the page runs its own inline script and talks to this smd only */
    evhttp_add_header(h, "Content-Security-Policy",
                      "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                      "connect-src 'self'; img-src 'self' data:; base-uri 'none'; "
                      "frame-ancestors 'none'");
    evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
    evhttp_send_reply(req, 200, "OK", out);
    evbuffer_free(out);
}
