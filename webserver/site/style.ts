// The site's styles: system fonts, readable contrast, one column at phone width.
export const STYLE = `
:root{--fg:#1d1f24;--muted:#5b6070;--bg:#f6f7fb;--card:#fff;--accent:#4752c4;--danger:#b3261e;--ok:#1b7f3b;--warn:#8a5a00;--line:#d9dce6}
*{box-sizing:border-box}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
.skip{position:absolute;left:-999px}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem;z-index:9}
header{background:var(--accent);color:#fff}
nav{display:flex;flex-wrap:wrap;gap:1rem;align-items:center;max-width:60rem;margin:0 auto;padding:.75rem 1rem}
nav a{color:#fff}.brand{font-weight:700;text-decoration:none;font-size:1.15rem}
#who{margin-left:auto;display:flex;gap:.5rem;align-items:center}
main{max-width:60rem;margin:0 auto;padding:1rem}
h1{font-size:1.5rem;margin:.5rem 0 1rem}h2{font-size:1.2rem;margin:0 0 .75rem}
section{background:var(--card);border:1px solid var(--line);border-radius:.5rem;padding:1rem;margin:0 0 1rem}
.muted{color:var(--muted)}
button,.button{font:inherit;border:0;border-radius:.35rem;padding:.45rem .9rem;background:var(--accent);color:#fff;cursor:pointer;text-decoration:none;display:inline-block}
button.secondary{background:#e7e9f3;color:var(--fg)}button.danger{background:var(--danger)}
button:disabled{opacity:.55;cursor:not-allowed}
button:focus-visible,a:focus-visible,input:focus-visible,select:focus-visible{outline:3px solid #f0b400;outline-offset:2px}
ul.guilds{list-style:none;padding:0;display:grid;grid-template-columns:repeat(auto-fill,minmax(14rem,1fr));gap:.75rem}
ul.guilds li{background:var(--card);border:1px solid var(--line);border-radius:.5rem;padding:1rem}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.4rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
.state-completed,.state-up{color:var(--ok);font-weight:600}.state-failed,.state-stopped{color:var(--danger);font-weight:600}
.state-running,.state-pending,.state-starting,.state-stopping{color:var(--warn);font-weight:600}
progress{width:8rem}
form.inline{display:flex;flex-wrap:wrap;gap:.5rem;align-items:end}
label{display:flex;flex-direction:column;font-size:.9rem;gap:.2rem}
label.check{flex-direction:row;align-items:center;gap:.4rem}
input,select,textarea{font:inherit;padding:.35rem;border:1px solid #8a90a3;border-radius:.3rem;min-width:0}
textarea{width:100%;min-height:3.5rem}
#alert:not(:empty){position:fixed;bottom:1rem;left:1rem;right:1rem;max-width:40rem;margin:auto;background:var(--danger);color:#fff;padding:.75rem 1rem;border-radius:.4rem}
#alert.info:not(:empty){background:var(--ok)}
dialog{border:1px solid var(--line);border-radius:.5rem;max-width:28rem}dialog::backdrop{background:#0007}
code{font-size:.85em;word-break:break-all}
@media (max-width:40rem){th.wide,td.wide{display:none}nav{gap:.5rem}}
`;
