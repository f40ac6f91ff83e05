// The site's one script (plain browser JavaScript, no build step of its own): fills each page from
// /api/v1 with DOM nodes (never HTML strings from data), sends writes with the X-CSRF-Token header,
// and polls while something changes (a running task, the clusters).
export const SCRIPT = String.raw`'use strict';
(function () {
  var main = document.getElementById('main');
  var alertBox = document.getElementById('alert');
  var KINDS = ['channel_create','channel_update','channel_delete','role_create','role_update','role_delete','member_ban','member_kick','member_role_update','webhook_create','emoji_delete','guild_update'];
  var PUNISHMENTS = ['strip_roles','timeout','kick','ban'];
  // The kinds whose rule can also recreate what was deleted (bot/modules/limits/settings.ts).
  var REVERTIBLE = ['channel_delete','role_delete'];

  function h(tag, attrs) {
    var el = document.createElement(tag);
    for (var k in attrs || {}) {
      var v = attrs[k];
      if (v === undefined || v === null || v === false) continue;
      if (k.slice(0, 2) === 'on') el.addEventListener(k.slice(2), v);
      else if (k === 'text') el.textContent = v;
      else el.setAttribute(k, v === true ? '' : v);
    }
    for (var i = 2; i < arguments.length; i++) {
      var c = arguments[i];
      if (c === null || c === undefined || c === false) continue;
      (Array.isArray(c) ? c : [c]).forEach(function (x) { if (x !== null && x !== undefined && x !== false) el.append(x); });
    }
    return el;
  }
  function cookie(name) {
    var m = document.cookie.split('; ').find(function (p) { return p.indexOf(name + '=') === 0; });
    return m ? m.slice(name.length + 1) : '';
  }
  function say(text, info) {
    alertBox.className = info ? 'info' : '';
    alertBox.textContent = text;
    clearTimeout(say.t);
    say.t = setTimeout(function () { alertBox.textContent = ''; }, 6000);
  }
  function api(method, path, body) {
    var headers = {};
    if (method !== 'GET') headers['x-csrf-token'] = cookie('csrf');
    if (body !== undefined) headers['content-type'] = 'application/json';
    return fetch('/api/v1' + path, { method: method, headers: headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' })
      .then(function (res) {
        if (res.status === 204) return null;
        return res.json().then(function (data) {
          if (!res.ok) { var e = new Error(data.error || ('HTTP ' + res.status)); e.status = res.status; e.code = data.code; throw e; }
          return data;
        });
      });
  }
  alertBox.addEventListener('click', function () { alertBox.textContent = ''; });
  function fail(err) { say(err.message); }
  function set(node) { main.replaceChildren.apply(main, [].concat(node)); }
  function ids(text) { return text.split(/[\s,]+/).filter(Boolean); }
  function when(iso) { return iso ? new Date(iso).toLocaleString() : ''; }

  function header(me) {
    var who = document.getElementById('who');
    if (!me) { who.replaceChildren(h('a', { href: '/auth/login', class: 'button', text: 'Log in with Discord' })); return; }
    var extra = document.getElementById('nav-extra');
    if (me.operator) extra.replaceChildren(h('a', { href: '/operator', text: 'Operator' }));
    who.replaceChildren(h('span', { text: me.global_name || me.username }),
      h('form', { method: 'post', action: '/auth/logout' }, h('button', { class: 'secondary', type: 'submit', text: 'Log out' })));
  }

  // Home: the servers you manage.
  function home(me) {
    if (!me) {
      set([h('h1', { text: 'splashtail' }), h('section', {}, h('p', { text: 'Back up your Discord servers, restore them, and configure anti-nuke limits and moderation.' }),
        h('a', { href: '/auth/login', class: 'button', text: 'Log in with Discord' }))]);
      return;
    }
    api('GET', '/users/@me/guilds').then(function (r) {
      var items = r.guilds.map(function (g) {
        return h('li', {}, h('h2', { text: g.name }),
          g.bot_in ? h('a', { class: 'button', href: '/guilds/' + g.id, 'aria-label': 'Manage ' + g.name, text: 'Manage' })
                   : h('p', { class: 'muted', text: 'The bot is not in this server.' }));
      });
      set([h('h1', { text: 'Your servers' }), items.length ? h('ul', { class: 'guilds', 'aria-label': 'Servers' }, items) : h('p', { text: 'You manage no servers.' })]);
    }).catch(fail);
  }

  // A server: backups, limits, moderation, command permissions, mirror links.
  function guild(id) {
    var backups = h('section', { 'aria-labelledby': 'h-backups' });
    var limits = h('section', { 'aria-labelledby': 'h-limits' });
    var moderation = h('section', { 'aria-labelledby': 'h-moderation' });
    var perms = h('section', { 'aria-labelledby': 'h-perms' });
    var mirror = h('section', { 'aria-labelledby': 'h-mirror' });
    api('GET', '/guilds/' + id).then(function (g) {
      document.title = g.name + ' · splashtail';
      set([h('h1', { text: g.name }), backups, limits, moderation, perms, mirror]);
      backupsSection(id, backups);
      limitsSection(id, limits);
      moderationSection(id, moderation, g.channels);
      permissionsSection(id, perms, g.roles);
      mirrorSection(id, mirror, g.channels);
    }).catch(function (err) { set([h('h1', { text: 'Server ' + id }), h('p', { text: err.message })]); });
  }

  function backupsSection(id, root) {
    var dialog = h('dialog', { 'aria-labelledby': 'h-restore' });
    var timer;
    function lastStatus(t) { var s = t.statuses[t.statuses.length - 1]; return s ? s.msg : ''; }
    function render(tasks) {
      var rows = tasks.map(function (t) {
        var actions = [];
        if (t.task_name === 'guild_create_backup' && t.state === 'completed') {
          actions.push(h('button', { class: 'secondary', type: 'button', 'aria-label': 'Download backup ' + t.task_id, text: 'Download', onclick: function () { download(t); } }),
            ' ', h('button', { class: 'danger', type: 'button', 'aria-label': 'Restore backup ' + t.task_id, text: 'Restore…', onclick: function () { confirmRestore(t); } }));
        }
        var running = t.state === 'running' || t.state === 'pending';
        return h('tr', { 'data-task': t.task_id },
          h('td', { class: 'wide' }, h('code', { text: t.task_id.slice(0, 8) })), h('td', { text: t.task_name.replace('guild_', '').replace(/_/g, ' ') }),
          h('td', {}, h('span', { class: 'state-' + t.state, text: t.state }), running ? [' ', h('progress', { 'aria-label': 'in progress' })] : null),
          h('td', { class: 'wide', text: lastStatus(t) }), h('td', { class: 'wide', text: when(t.created_at) }), h('td', {}, actions));
      });
      root.replaceChildren(h('h2', { id: 'h-backups', text: 'Backups' }),
        h('p', {}, h('button', { type: 'button', text: 'Start a backup', onclick: start })),
        rows.length ? h('div', { class: 'table-wrap' }, h('table', { 'aria-label': 'Tasks' }, h('thead', {}, h('tr', {}, ['Task', 'Kind', 'State', 'Progress', 'Created', ''].map(function (c) { return h('th', { text: c, class: ['Task', 'Progress', 'Created'].indexOf(c) >= 0 ? 'wide' : null }); }))), h('tbody', {}, rows)))
                    : h('p', { class: 'muted', text: 'No backups yet.' }), dialog);
      clearTimeout(timer);
      if (tasks.some(function (t) { return t.state === 'running' || t.state === 'pending'; })) timer = setTimeout(load, 1000);
    }
    function load() { return api('GET', '/guilds/' + id + '/tasks?limit=20').then(function (r) { render(r.tasks); }).catch(fail); }
    function start() {
      api('POST', '/guilds/' + id + '/tasks', { name: 'guild_create_backup', data: {} }).then(function () { say('Backup started.', true); return load(); }).catch(fail);
    }
    function download(t) {
      api('GET', '/guilds/' + id + '/tasks/' + t.task_id + '/download').then(function (r) { location.href = r.url; }).catch(fail);
    }
    function confirmRestore(t) {
      dialog.replaceChildren(h('h2', { id: 'h-restore', text: 'Restore this backup?' }),
        h('p', { text: 'Roles, channels and messages of backup ' + t.task_id.slice(0, 8) + ' (' + when(t.created_at) + ') will be recreated in this server. Existing channels are kept.' }),
        h('form', { method: 'dialog', class: 'inline' },
          h('button', { class: 'secondary', value: 'cancel', text: 'Cancel' }),
          h('button', { class: 'danger', value: 'restore', text: 'Restore now' })));
      dialog.onclose = function () {
        if (dialog.returnValue !== 'restore') return;
        api('POST', '/guilds/' + id + '/tasks', { name: 'guild_restore_backup', data: { backup_task_id: t.task_id } })
          .then(function () { say('Restore started.', true); return load(); }).catch(fail);
      };
      dialog.returnValue = '';
      dialog.showModal();
    }
    load();
  }

  function limitsSection(id, root) {
    function render(s) {
      var rules = s.rules.map(function (r) {
        return h('tr', {}, h('td', { text: '#' + r.id }), h('td', { text: r.kind.replace(/_/g, ' ') }), h('td', { text: 'more than ' + r.count + ' in ' + r.seconds + ' s' }), h('td', { text: r.punishment.replace('_', ' ') + (r.revert ? ' and revert' : '') }),
          h('td', {}, h('button', { class: 'secondary', type: 'button', 'aria-label': 'Remove rule ' + r.id, text: 'Remove', onclick: function () {
            save({ rules: s.rules.filter(function (x) { return x.id !== r.id; }), exempt_users: s.exempt_users, exempt_roles: s.exempt_roles });
          } })));
      });
      var kind = h('select', { name: 'kind' }, KINDS.map(function (k) { return h('option', { value: k, text: k.replace(/_/g, ' ') }); }));
      var count = h('input', { name: 'count', type: 'number', min: 1, max: 1000, value: 3, required: true });
      var seconds = h('input', { name: 'seconds', type: 'number', min: 1, max: 86400, value: 60, required: true });
      var punishment = h('select', { name: 'punishment' }, PUNISHMENTS.map(function (p) { return h('option', { value: p, text: p.replace('_', ' ') }); }));
      var revert = h('input', { name: 'revert', type: 'checkbox', disabled: true, 'aria-describedby': 'revert-help' });
      kind.onchange = function () {
        revert.disabled = REVERTIBLE.indexOf(kind.value) < 0;
        if (revert.disabled) revert.checked = false;
      };
      var users = h('textarea', { name: 'exempt_users', 'aria-describedby': 'ids-help', text: s.exempt_users.join(', ') });
      var roles = h('textarea', { name: 'exempt_roles', 'aria-describedby': 'ids-help', text: s.exempt_roles.join(', ') });
      root.replaceChildren(h('h2', { id: 'h-limits', text: 'Limits' }),
        rules.length ? h('div', { class: 'table-wrap' }, h('table', { 'aria-label': 'Limit rules' }, h('thead', {}, h('tr', {}, ['Rule', 'Action', 'Limit', 'Punishment', ''].map(function (c) { return h('th', { text: c }); }))), h('tbody', {}, rules))) : h('p', { class: 'muted', text: 'No limits yet.' }),
        h('form', { class: 'inline', 'aria-label': 'Add a limit', onsubmit: function (e) {
          e.preventDefault();
          var rule = { id: s.next_rule_id, kind: kind.value, count: Number(count.value), seconds: Number(seconds.value), punishment: punishment.value, revert: revert.checked };
          save({ rules: s.rules.concat([rule]), exempt_users: s.exempt_users, exempt_roles: s.exempt_roles });
        } }, h('label', {}, 'Action', kind), h('label', {}, 'More than', count), h('label', {}, 'Within (seconds)', seconds), h('label', {}, 'Punishment', punishment),
          h('label', { class: 'check' }, revert, 'Revert'), h('p', { id: 'revert-help', class: 'muted', text: 'Revert recreates the channels or roles the user deleted (channel and role deletes only).' }),
          h('button', { type: 'submit', text: 'Add limit' })),
        h('h3', { text: 'Exemptions' }),
        h('form', { 'aria-label': 'Exemptions', onsubmit: function (e) {
          e.preventDefault();
          save({ rules: s.rules, exempt_users: ids(users.value), exempt_roles: ids(roles.value) });
        } }, h('label', {}, 'Exempt users', users), h('label', {}, 'Exempt roles', roles), h('p', { id: 'ids-help', class: 'muted', text: 'Discord ids, separated by commas or spaces.' }), h('button', { type: 'submit', text: 'Save exemptions' })));
    }
    function save(doc) { api('PUT', '/guilds/' + id + '/settings/limits', doc).then(function (s) { say('Limits saved.', true); render(s); }).catch(fail); }
    api('GET', '/guilds/' + id + '/settings/limits').then(render).catch(fail);
  }

  // Read-only: links are made with /mirror link and /mirror join in Discord.
  function mirrorSection(id, root, channels) {
    function where(guildId, channelId) {
      var c = guildId === id && channels.find(function (x) { return x.id === channelId; });
      return c ? '#' + c.name : (guildId === id ? channelId : 'another server (' + channelId + ')');
    }
    api('GET', '/guilds/' + id + '/mirror/links').then(function (r) {
      var rows = r.links.map(function (l) {
        return h('tr', {}, h('td', { text: '#' + l.id }), h('td', { text: where(l.source_guild_id, l.source_channel_id) }), h('td', { text: where(l.target_guild_id, l.target_channel_id) }));
      });
      root.replaceChildren(h('h2', { id: 'h-mirror', text: 'Mirror links' }),
        rows.length ? h('div', { class: 'table-wrap' }, h('table', { 'aria-label': 'Mirror links' }, h('thead', {}, h('tr', {}, ['Link', 'From', 'To'].map(function (c) { return h('th', { text: c }); }))), h('tbody', {}, rows)))
          : h('p', { class: 'muted', text: 'No mirror links. Make one with /mirror link in Discord.' }));
    }).catch(fail);
  }

  function moderationSection(id, root, channels) {
    function render(s) {
      var channel = h('select', { name: 'modlog_channel_id' }, h('option', { value: '', text: 'No mod log' }),
        channels.map(function (c) { return h('option', { value: c.id, text: '#' + c.name, selected: c.id === s.modlog_channel_id }); }));
      root.replaceChildren(h('h2', { id: 'h-moderation', text: 'Moderation log' }),
        h('form', { class: 'inline', 'aria-label': 'Moderation log', onsubmit: function (e) {
          e.preventDefault();
          api('PUT', '/guilds/' + id + '/settings/moderation', { modlog_channel_id: channel.value || null }).then(function (n) { say('Moderation log saved.', true); render(n); }).catch(fail);
        } }, h('label', {}, 'Mod-log channel', channel), h('button', { type: 'submit', text: 'Save' })));
    }
    api('GET', '/guilds/' + id + '/settings/moderation').then(render).catch(fail);
  }

  function permissionsSection(id, root, roles) {
    function roleName(roleId) { var r = roles.find(function (x) { return x.id === roleId; }); return r ? '@' + r.name : roleId; }
    function render(s) {
      var rows = s.overrides.map(function (o, i) {
        return h('tr', {}, h('td', { text: '/' + o.command }), h('td', { text: roleName(o.role_id) }), h('td', { text: o.allow ? 'allowed' : 'denied' }),
          h('td', {}, h('button', { class: 'secondary', type: 'button', text: 'Remove', 'aria-label': 'Remove override of /' + o.command + ' for ' + roleName(o.role_id), onclick: function () {
            save({ overrides: s.overrides.filter(function (_, j) { return j !== i; }) });
          } })));
      });
      var command = h('input', { name: 'command', required: true, placeholder: 'ban' });
      var role = h('select', { name: 'role_id', required: true }, roles.map(function (r) { return h('option', { value: r.id, text: '@' + r.name }); }));
      var allow = h('select', { name: 'allow' }, h('option', { value: 'true', text: 'allow' }), h('option', { value: 'false', text: 'deny' }));
      root.replaceChildren(h('h2', { id: 'h-perms', text: 'Command permissions' }),
        rows.length ? h('div', { class: 'table-wrap' }, h('table', { 'aria-label': 'Command permissions' }, h('thead', {}, h('tr', {}, ['Command', 'Role', 'Rule', ''].map(function (c) { return h('th', { text: c }); }))), h('tbody', {}, rows))) : h('p', { class: 'muted', text: 'Commands use their default permissions.' }),
        h('form', { class: 'inline', 'aria-label': 'Add a command permission', onsubmit: function (e) {
          e.preventDefault();
          save({ overrides: s.overrides.concat([{ command: command.value.trim().replace(/^\//, ''), role_id: role.value, allow: allow.value === 'true' }]) });
        } }, h('label', {}, 'Command', command), h('label', {}, 'Role', role), h('label', {}, 'Rule', allow), h('button', { type: 'submit', text: 'Add' })));
    }
    function save(doc) { api('PUT', '/guilds/' + id + '/settings/permissions', doc).then(function (s) { say('Permissions saved.', true); render(s); }).catch(fail); }
    api('GET', '/guilds/' + id + '/settings/permissions').then(render).catch(fail);
  }

  // Operators: the clusters, their shards and guilds, restart buttons, the action log; live.
  function operator(me) {
    if (!me || !me.operator) { set([h('h1', { text: 'Operator' }), h('p', { text: 'Only operators may see the clusters.' })]); return; }
    var clusters = h('section', { 'aria-labelledby': 'h-clusters' });
    var log = h('section', { 'aria-labelledby': 'h-actions' });
    set([h('h1', { text: 'Operator' }), clusters, log]);
    function act(path, what) {
      say(what + '…', true);
      return api('POST', path).then(function () { say(what + ': done.', true); refresh(); }).catch(fail);
    }
    function refresh() {
      Promise.all([api('GET', '/clusters'), api('GET', '/clusters/actions?limit=15')]).then(function (r) {
        var rows = r[0].clusters.map(function (c) {
          return h('tr', { 'data-cluster': c.id }, h('td', { text: c.id + ' ' + c.name }), h('td', {}, h('span', { class: 'state-' + c.state, text: c.state })),
            h('td', { text: c.shards_up + '/' + c.shards.length + ' (' + c.shards.join(', ') + ')' }), h('td', { text: String(c.guilds) }), h('td', { class: 'wide', text: String(c.users) }),
            h('td', { class: 'wide', text: String(c.restarts) }), h('td', { class: 'wide', text: c.pid ? String(c.pid) : '' }),
            h('td', {}, h('button', { type: 'button', class: 'danger', 'aria-label': 'Restart cluster ' + c.id, text: 'Restart', onclick: function (e) { e.target.disabled = true; act('/clusters/' + c.id + '/restart', 'Restart of cluster ' + c.id); } })));
        });
        clusters.replaceChildren(h('h2', { id: 'h-clusters', text: 'Clusters' }),
          h('p', {}, h('button', { type: 'button', class: 'secondary', text: 'Rolling restart', onclick: function () { act('/clusters/rolling-restart', 'Rolling restart'); } }), ' ',
            h('button', { type: 'button', class: 'secondary', text: 'Reshard', onclick: function () { act('/clusters/reshard', 'Reshard'); } })),
          h('div', { class: 'table-wrap' }, h('table', { 'aria-label': 'Clusters' }, h('thead', {}, h('tr', {}, ['Cluster', 'State', 'Shards up', 'Guilds', 'Users', 'Restarts', 'PID', ''].map(function (c) { return h('th', { text: c, class: ['Users', 'Restarts', 'PID'].indexOf(c) >= 0 ? 'wide' : null }); }))), h('tbody', {}, rows))));
        log.replaceChildren(h('h2', { id: 'h-actions', text: 'Action log' }),
          h('ol', { 'aria-label': 'Actions' }, r[1].actions.map(function (a) {
            var rest = Object.assign({}, a); delete rest.action; delete rest.ts;
            return h('li', {}, h('strong', { text: a.action }), ' ', h('span', { class: 'muted', text: when(a.ts) + ' ' + JSON.stringify(rest) }));
          })));
      }).catch(fail).finally(function () { clearTimeout(refresh.t); refresh.t = setTimeout(refresh, 2000); });
    }
    refresh();
  }

  api('GET', '/users/@me').catch(function (e) { if (e.status === 401) return null; throw e; }).then(function (me) {
    header(me);
    var kind = main.dataset.page;
    if (kind === 'home') return home(me);
    if (!me) { set([h('p', {}, 'Please ', h('a', { href: '/auth/login', text: 'log in with Discord' }), '.')]); return; }
    if (kind === 'guild') return guild(main.dataset.guild);
    if (kind === 'operator') return operator(me);
  }).catch(fail);
})();
`;
