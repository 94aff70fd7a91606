// Checks ROS resources with the property validators Alibaba generates in its ROS CDK packages.
// Input (stdin): {"LogicalId": {"Type": "ALIYUN::...", "Properties": {...}}, ...} as JSON.
// Output (stdout): {"LogicalId": ["problem", ...], ...}; a resource with no problem maps to [].
//
// The CDK's `Ros<Resource>` classes validate their camelCase props when rendered (with
// enableResourcePropertyConstraint = true) and render only the properties they know, so:
// - wrong types and missing required properties: the generated validator throws;
// - unknown properties (at any depth of a typed struct): the rendered template drops them.
// Intrinsic functions ({"Ref": ...}, {"Fn::...": ...}) become unresolved tokens, which the
// validators skip, as ROS checks the resolved value at deploy time.
"use strict";
const ros = require("@alicloud/ros-cdk-core");
const PACKAGES = ["fc", "oss", "ots", "ram", "sls"].map((p) => require(`@alicloud/ros-cdk-${p}`));

function classFor(type) {
  for (const pkg of PACKAGES) {
    for (const value of Object.values(pkg)) {
      if (typeof value === "function" && value.ROS_RESOURCE_TYPE_NAME === type
          && value.name.startsWith("Ros")) {
        return value;
      }
    }
  }
  return null;
}

// The CDK's own naming: CustomDNS -> customDns, CAPort -> caPort, TTL -> ttl, RAM -> ram.
function camel(key) {
  const words = key.match(/[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+/g) || [key];
  return words.map((w, i) => (i === 0 ? w.toLowerCase()
                                       : w[0].toUpperCase() + w.slice(1).toLowerCase())).join("");
}

function isIntrinsic(value) {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === "Ref" || keys[0].startsWith("Fn::"));
}

function toCdk(value) {
  if (isIntrinsic(value)) return ros.Token.asAny(value);
  if (Array.isArray(value)) return value.map(toCdk);
  if (value !== null && typeof value === "object") {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[camel(k)] = toCdk(v);
    return out;
  }
  return value;
}

// Every key given must come back from rendering: as written (a typed struct maps it back) or
// camelCased (a free-form map such as EnvironmentVariables passes keys through).
function dropped(given, rendered, path, problems) {
  if (isIntrinsic(given) || given === null || typeof given !== "object") return;
  if (Array.isArray(given)) {
    given.forEach((v, i) => dropped(v, Array.isArray(rendered) ? rendered[i] : undefined,
                                    `${path}[${i}]`, problems));
    return;
  }
  for (const [k, v] of Object.entries(given)) {
    const back = rendered && typeof rendered === "object"
      ? (k in rendered ? rendered[k] : rendered[camel(k)]) : undefined;
    if (back === undefined) {
      problems.push(`${path}.${k}: unknown property`);
    } else {
      dropped(v, back, `${path}.${k}`, problems);
    }
  }
}

function render(cls, logicalId, props, constrained) {
  const stack = new ros.Stack(new ros.App(), "Oracle");
  const construct = new cls(stack, logicalId, toCdk(props), constrained);
  return stack.resolve(construct._toRosTemplate()).Resources[logicalId].Properties || {};
}

function check(logicalId, resource) {
  const cls = classFor(resource.Type);
  if (cls === null) return [`Type: no ROS CDK class for ${resource.Type}`];
  const props = resource.Properties || {};
  const problems = [];
  try {
    render(cls, logicalId, props, true);
  } catch (err) {
    const text = String(err.message || err).replace(/\s+/g, " ");
    problems.push(text.replace(/^Resolution error: /, "").replace(/ Object creation stack:.*$/, ""));
  }
  dropped(props, render(cls, logicalId, props, false), "Properties", problems);
  return problems;
}

const input = JSON.parse(require("fs").readFileSync(0, "utf8"));
const result = {};
for (const [logicalId, resource] of Object.entries(input)) result[logicalId] = check(logicalId, resource);
process.stdout.write(JSON.stringify(result, null, 1) + "\n");
