import { useState } from "preact/hooks";
import type { Hex } from "viem";
import { api, ApiError } from "../../api/client";
import { addressProblem } from "../../address";
import { assetBalance } from "../../chain/client";
import { readClaimState, sendClaim, waitForReceipt, type ClaimState } from "../../chain/claim";
import { connectWallet, ensurePoolChain, type ConnectedWallet } from "../../chain/wallet";
import { AddressForm } from "../../components/AddressForm";
import { Amount } from "../../components/Amount";
import { Notice, ErrorNotice } from "../../components/Notice";
import { useConfig } from "../../config";
import { useResource } from "../../hooks/useResource";
import { href, navigate } from "../../routes";
import { ClaimOtherWays } from "./ClaimOtherWays";
import { watchAsset } from "./watchAsset";

/** "Add tBTC to my wallet" (EIP-747), for an ERC-20 asset only: the native coin is always shown. */
function WatchAsset({ wallet, setWallet }: { wallet: ConnectedWallet | null; setWallet: (w: ConnectedWallet) => void }) {
  const config = useConfig();
  const [result, setResult] = useState<{ ok: boolean } | { error: unknown } | null>(null);
  if (/^0x0{40}$/i.test(config.token)) return null;
  const add = async () => {
    setResult(null);
    try {
      let w = wallet;
      if (!w) {
        w = await connectWallet();
        setWallet(w);
      }
      await ensurePoolChain(w, config);
      setResult({ ok: await watchAsset(w, config) });
    } catch (error) {
      setResult({ error });
    }
  };
  return (
    <p>
      <button type="button" onClick={add} data-testid="watch-asset">
        Add {config.assetSymbol} to my wallet
      </button>{" "}
      <small class="muted">
        token <code>{config.token}</code>, {config.assetDecimals} decimals
      </small>
      {result && "ok" in result && (
        <span data-testid="watch-asset-result"> {result.ok ? `${config.assetSymbol} added to the wallet.` : "The wallet did not add it."}</span>
      )}
      {result && "error" in result && <ErrorNotice error={result.error} context={`Could not add ${config.assetSymbol} to the wallet.`} />}
    </p>
  );
}

type Progress =
  | { step: "idle" }
  | { step: "connecting" | "switching" | "signing" }
  | { step: "waiting"; hash: Hex }
  | { step: "done"; hash: Hex; block: bigint; before: bigint; after: bigint }
  | { step: "failed"; error: unknown; hash?: Hex };

function Wallet({ wallet, onConnect, busy }: { wallet: ConnectedWallet | null; onConnect: () => void; busy: boolean }) {
  if (wallet)
    return (
      <p data-testid="wallet-account">
        Wallet connected: <code>{wallet.account}</code>
      </p>
    );
  return (
    <button type="button" onClick={onConnect} disabled={busy} data-testid="connect-wallet">
      Connect wallet
    </button>
  );
}

function ClaimFor({ address, wallet, setWallet }: { address: string; wallet: ConnectedWallet | null; setWallet: (w: ConnectedWallet) => void }) {
  const config = useConfig();
  const [progress, setProgress] = useState<Progress>({ step: "idle" });
  const state = useResource(async () => readClaimState(config, await api.proof(address)), [address, config.rpcUrl]);
  const busy = progress.step === "connecting" || progress.step === "switching" || progress.step === "signing" || progress.step === "waiting";

  const claim = async (s: ClaimState) => {
    let hash: Hex | undefined;
    try {
      let w = wallet;
      if (!w) {
        setProgress({ step: "connecting" });
        w = await connectWallet();
        setWallet(w);
      }
      setProgress({ step: "switching" });
      await ensurePoolChain(w, config);
      setProgress({ step: "signing" });
      hash = await sendClaim(w, config, s);
      setProgress({ step: "waiting", hash });
      const receipt = await waitForReceipt(config, hash);
      if (receipt.status !== "success") throw new Error(`The transaction was mined in block ${receipt.blockNumber} but reverted: nothing was paid.`);
      const after = await assetBalance(config, s.account);
      setProgress({ step: "done", hash, block: receipt.blockNumber, before: s.balance, after });
      state.reload();
    } catch (error) {
      setProgress({ step: "failed", error, hash });
    }
  };

  const notInRoot = state.error instanceof ApiError && state.error.status === 404;
  return (
    <>
      {notInRoot ? (
        <Notice kind="info" title="Nothing to claim yet.">
          {address} has no allocation in the active root. Allocations appear once a block found while it mined is confirmed and the root
          holding it becomes active (see the Roots on the pool page).
        </Notice>
      ) : (
        state.error && <ErrorNotice error={state.error} context="Could not read the claim." />
      )}
      {state.data && (
        <section class="card" data-testid="claim-state">
          <div class="stats">
            <div class="stat">
              <div class="stat-label">Allocated (cumulative)</div>
              <div class="stat-value">
                <Amount raw={state.data.cumulative} testId="claim-cumulative" />
              </div>
            </div>
            <div class="stat">
              <div class="stat-label">Already claimed</div>
              <div class="stat-value">
                <Amount raw={state.data.claimed} testId="claim-claimed" />
              </div>
            </div>
            <div class="stat">
              <div class="stat-label">Claimable now</div>
              <div class="stat-value">
                <Amount raw={state.data.claimable} testId="claim-claimable" />
              </div>
            </div>
            <div class="stat">
              <div class="stat-label">Balance of {address.slice(0, 8)}…</div>
              <div class="stat-value">
                <Amount raw={state.data.balance} testId="claim-balance" />
              </div>
            </div>
          </div>
          {state.data.claimable === 0n && progress.step !== "done" && (
            <Notice kind="info">Nothing is owed to this address right now: everything allocated by the active root has been paid.</Notice>
          )}
          <button type="button" class="primary" disabled={busy || state.data.claimable === 0n} onClick={() => claim(state.data!)} data-testid="claim-button">
            {wallet ? "Claim" : "Connect wallet and claim"}
          </button>
        </section>
      )}
      <ClaimProgress progress={progress} />
    </>
  );
}

function ClaimProgress({ progress }: { progress: Progress }) {
  switch (progress.step) {
    case "idle":
      return null;
    case "connecting":
      return <Notice kind="info">Waiting for your wallet to connect…</Notice>;
    case "switching":
      return <Notice kind="info">Checking that your wallet is on the pool's chain…</Notice>;
    case "signing":
      return <Notice kind="info">Confirm the transaction in your wallet…</Notice>;
    case "waiting":
      return (
        <Notice kind="info">
          Sent <code data-testid="claim-tx">{progress.hash}</code>; waiting for it to be mined…
        </Notice>
      );
    case "done":
      return (
        <Notice kind="ok" title="Claimed.">
          Transaction <code data-testid="claim-tx">{progress.hash}</code> confirmed in block {String(progress.block)}. New balance:{" "}
          <Amount raw={progress.after} testId="claim-new-balance" /> (+<Amount raw={progress.after - progress.before} testId="claim-received" />
          ).
        </Notice>
      );
    case "failed":
      return (
        <>
          {progress.hash && (
            <p>
              Transaction <code data-testid="claim-tx">{progress.hash}</code>
            </p>
          )}
          <ErrorNotice error={progress.error} context="The claim did not go through." />
        </>
      );
  }
}

export function ClaimPage({ address }: { address?: string }) {
  const [wallet, setWallet] = useState<ConnectedWallet | null>(null);
  const [connectError, setConnectError] = useState<unknown>(null);
  const [connecting, setConnecting] = useState(false);
  const problem = address ? addressProblem(address) : null;

  const connect = async () => {
    setConnecting(true);
    setConnectError(null);
    try {
      const w = await connectWallet();
      setWallet(w);
      if (!address) navigate(href.claim(w.account));
    } catch (error) {
      setConnectError(error);
    } finally {
      setConnecting(false);
    }
  };

  return (
    <div class="page" data-page="claim">
      <h1>Claim</h1>
      <Notice kind="info" title="Anyone may claim for any address.">
        The contract always pays the address in the proof, never the sender: you can claim for yourself or for someone else, and the
        funds still go to that address. The sender only pays the gas.
      </Notice>
      <section class="card">
        <Wallet wallet={wallet} onConnect={connect} busy={connecting} />
        <WatchAsset wallet={wallet} setWallet={setWallet} />
        {connectError ? <ErrorNotice error={connectError} context="Could not connect the wallet." /> : null}
        <AddressForm initial={address ?? wallet?.account} button="Look up" onSubmit={(a) => navigate(href.claim(a))} testId="claim-form" />
      </section>
      {address && problem && <Notice kind="error">{problem}</Notice>}
      {address && !problem && <ClaimFor key={address} address={address} wallet={wallet} setWallet={setWallet} />}
      <ClaimOtherWays address={address && !problem ? address : undefined} />
    </div>
  );
}
