#!/usr/bin/env node
// Prints the CreateFunction and CreateTrigger requests that the SCF component of Serverless Cloud
// Framework would send for a serverless.yml, by running tencent-component-toolkit's own input
// formatting offline: no credentials, no network.
//
// Usage: node format_inputs.js <toolkit package dir>   (stdin: {"inputs": ..., "instance": ...})
//
// `inputs` are serverless.yml's inputs with ${env:...}, ${stage}, ${app} and ${name} already
// resolved (the CLI and the engine do that before the component runs). The entry points are the
// smallest offline ones the toolkit has: `Scf.deploy` needs credentials and calls the API, but it
// builds its requests with
//   lib/modules/scf/utils.js  formatInputs(inputs)                  -> CreateFunction parameters
//   lib/modules/triggers/*.js <Trigger>.formatInputs({inputs, ...}) -> CreateTrigger parameters
// (`Scf.filterTriggers` passes each event as {namespace, functionName, ...event[type]}), and the
// component (serverless-components/tencent-scf, src/utils.js formatInputs) names an unnamed
// trigger `<type>-<name>-<stage>` and points `code` at the COS object it uploaded.
'use strict';

const path = require('path');

const toolkit = process.argv[2];
const { formatInputs } = require(path.join(toolkit, 'lib/modules/scf/utils'));
const TRIGGERS = require(path.join(toolkit, 'lib/modules/triggers')).default;

const { inputs, instance } = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const region = inputs.region || 'ap-guangzhou';
const functionInputs = Object.assign({}, inputs, {
  // what the component's uploadCodeToCos hands over: a bucket and object, never local paths
  code: { bucket: `sls-cloudfunction-${region}-code`, object: '/scf_component_offline.zip' },
});
const createFunction = Object.assign({ Action: 'CreateFunction' }, formatInputs(functionInputs));

const createTriggers = (inputs.events || []).map((event) => {
  const type = Object.keys(event)[0];
  const Trigger = TRIGGERS[type];
  if (!Trigger) {
    throw new Error(`unknown trigger type ${type}`);
  }
  const current = Object.assign({}, event[type]);
  current.name = current.name || `${type}-${instance.name}-${instance.stage}`;
  const trigger = new Trigger({ credentials: {}, region });
  const { triggerInputs } = trigger.formatInputs({
    region,
    inputs: Object.assign(
      { namespace: createFunction.Namespace, functionName: createFunction.FunctionName },
      current,
    ),
  });
  return triggerInputs;
});

process.stdout.write(JSON.stringify({ CreateFunction: createFunction, CreateTrigger: createTriggers }, null, 2));
